"""Routes for approval requests and their types: thin callers of the approvals service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from charter.approvals import registry, service
from charter.approvals.enums import ApprovalState
from charter.approvals.models import ApprovalRequest
from charter.approvals.registry import ApprovalType
from charter.approvals.schemas import (
    ApprovalCreate,
    ApprovalOut,
    ApprovalTypeOut,
    ApproveIn,
    OwnersIn,
    RejectIn,
    WithdrawIn,
)
from charter.core import clock
from charter.core.pagination import DEFAULT_LIMIT
from charter.core.schemas import Page
from charter.deps import CurrentPrincipal, Cursor, DbSession, Limit, api_router

router = api_router()

ApprovalId = Annotated[
    str, Path(min_length=1, max_length=40, description="An approval request id (apr_…)")
]
TypeName = Annotated[str, Path(min_length=1, max_length=64, description="An approval type")]
Filter = Annotated[str | None, Query(max_length=64)]


def _out(request: ApprovalRequest) -> ApprovalOut:
    out = ApprovalOut.model_validate(request)
    out.overdue = service.is_overdue(request)
    return out


def _type_out(kind: ApprovalType, owners: list[str] | None) -> ApprovalTypeOut:
    return ApprovalTypeOut(
        name=kind.name,
        title=kind.title,
        subject_type=kind.subject_type,
        direct=kind.direct,
        sla_hours=kind.sla.total_seconds() / 3600,
        applies_change=registry.applier_for(kind.name) is not None,
        owners=owners,
    )


@router.post("/approvals", status_code=201, response_model=ApprovalOut, tags=["approvals"])
def request_approval(body: ApprovalCreate, db: DbSession, actor: CurrentPrincipal) -> ApprovalOut:
    """Ask for an exception (of a type that may be asked for directly)."""
    request = service.request_approval(
        db,
        actor,
        type=body.type,
        subject_type=body.subject_type,
        subject_id=body.subject_id,
        partner_id=body.partner_id,
        justification=body.justification,
        proposed_change=body.proposed_change,
        direct=True,
    )
    return _out(request)


@router.get("/approvals", response_model=Page[ApprovalOut], tags=["approvals"])
def list_approvals(
    db: DbSession,
    actor: CurrentPrincipal,
    state: ApprovalState | None = None,
    type: Filter = None,
    partner_id: Annotated[str | None, Query(max_length=40)] = None,
    subject_type: Filter = None,
    subject_id: Annotated[str | None, Query(max_length=40)] = None,
    overdue: Annotated[bool | None, Query(description="Pending and past due (or not)")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ApprovalOut]:
    """Approval requests, filtered, oldest first; partner users see their own firm's only."""
    page = service.list_requests(
        db,
        actor,
        state=state,
        type=type,
        partner_id=partner_id,
        subject_type=subject_type,
        subject_id=subject_id,
        overdue=overdue,
        cursor=cursor,
        limit=limit,
    )
    now = clock.now()
    items = []
    for request in page.items:
        out = ApprovalOut.model_validate(request)
        out.overdue = service.is_overdue(request, now)
        items.append(out)
    return Page[ApprovalOut](items=items, next_cursor=page.next_cursor)


@router.get("/approvals/{approval_id}", response_model=ApprovalOut, tags=["approvals"])
def get_approval(approval_id: ApprovalId, db: DbSession, actor: CurrentPrincipal) -> ApprovalOut:
    """One approval request."""
    return _out(service.get_request(db, actor, request_id=approval_id))


@router.post("/approvals/{approval_id}/approve", response_model=ApprovalOut, tags=["approvals"])
def approve(
    approval_id: ApprovalId,
    db: DbSession,
    actor: CurrentPrincipal,
    body: ApproveIn | None = None,
) -> ApprovalOut:
    """Approve a pending request; its change is applied at once (``applied`` or ``failed``)."""
    reason = body.reason if body else None
    return _out(service.approve(db, actor, request_id=approval_id, reason=reason))


@router.post("/approvals/{approval_id}/reject", response_model=ApprovalOut, tags=["approvals"])
def reject(
    approval_id: ApprovalId, body: RejectIn, db: DbSession, actor: CurrentPrincipal
) -> ApprovalOut:
    """Reject a pending request, saying why."""
    return _out(service.reject(db, actor, request_id=approval_id, reason=body.reason))


@router.post("/approvals/{approval_id}/withdraw", response_model=ApprovalOut, tags=["approvals"])
def withdraw(
    approval_id: ApprovalId,
    db: DbSession,
    actor: CurrentPrincipal,
    body: WithdrawIn | None = None,
) -> ApprovalOut:
    """Withdraw a pending request one made (a partner admin: their firm's)."""
    reason = body.reason if body else None
    return _out(service.withdraw(db, actor, request_id=approval_id, reason=reason))


@router.get("/approval-types", response_model=list[ApprovalTypeOut], tags=["approvals"])
def list_types(db: DbSession, actor: CurrentPrincipal) -> list[ApprovalTypeOut]:
    """The types of request this deployment knows, their SLA and their governance owners."""
    return [_type_out(kind, owners) for kind, owners in service.list_types(db, actor)]


@router.put(
    "/approval-types/{type_name}/owners", response_model=ApprovalTypeOut, tags=["approvals"]
)
def set_owners(
    type_name: TypeName, body: OwnersIn, db: DbSession, actor: CurrentPrincipal
) -> ApprovalTypeOut:
    """Route a type to these governance owners (an empty list: to every governance owner)."""
    kind, owners = service.set_owners(db, actor, type=type_name, user_ids=body.user_ids)
    return _type_out(kind, owners)
