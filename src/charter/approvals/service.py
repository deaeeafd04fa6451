"""Approval requests: asking, routing to the governance owners, deciding, applying, escalating.

Every function checks the caller's permission and partner scope, changes state, appends its
event and flushes; the caller owns the transaction. Partner users see their own firm's requests
only (anything else is not found). Nobody decides a request they asked for; a governance owner
decides only the types routed to them (every type, when a type has no owners of its own);
admins decide any.

Approving applies the change in the same transaction, through the applier the type's domain
registered (:mod:`charter.approvals.registry`), inside a savepoint: when the applier refuses
(a :class:`~charter.core.errors.CharterError`, such as the license having been revoked since),
whatever it did is undone, the request is stored as ``failed`` with the problem, and the
approval itself stays recorded (who approved, when, why). Any other error (a bug, the
database) is not a refusal of the change: it propagates, the transaction rolls back and the
request stays pending, to be decided again.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.approvals import registry
from charter.approvals.enums import ApprovalState
from charter.approvals.models import ApprovalRequest, ApprovalRoute
from charter.approvals.registry import ApprovalType
from charter.core import clock, events
from charter.core.auth import Permission, Principal, Role
from charter.core.errors import CharterError, Conflict, FieldError, Forbidden, Invalid, NotFound
from charter.core.ids import new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate
from charter.core.text import is_storable
from charter.partners import service as partners

MAX_CHANGE_BYTES = 16_384
"""The largest ``proposed_change`` stored, as compact JSON."""
MAX_ESCALATION_LEVEL = 3
"""Escalations stop here: the request has been in front of the admins three SLA periods."""


# --- routing ---------------------------------------------------------------------------------


def routed_owners(db: Session, type: str) -> list[str]:
    """The user ids of the governance owners who decide requests of ``type``, by id.

    The owners routed to the type, if it has any still enabled governance owners; otherwise
    every enabled governance owner.
    """
    routed = db.scalars(select(ApprovalRoute.owner_user_id).where(ApprovalRoute.type == type))
    named = list(routed)
    if named:
        owners = accounts.enabled_users_with_role(db, Role.GOVERNANCE_OWNER, among=named)
        if owners:
            return [user.id for user in owners]
    return [user.id for user in accounts.enabled_users_with_role(db, Role.GOVERNANCE_OWNER)]


def _configured_owners(db: Session, type: str) -> list[str]:
    query = select(ApprovalRoute.owner_user_id).where(ApprovalRoute.type == type)
    return sorted(db.scalars(query))


def list_types(db: Session, actor: Principal) -> list[tuple[ApprovalType, list[str] | None]]:
    """Every registered type with the owners it is routed to (None for partner users)."""
    actor.require(Permission.APPROVALS_READ)
    return [
        (kind, None if actor.partner_scope is not None else _configured_owners(db, kind.name))
        for kind in registry.types()
    ]


def _known_type(name: str, field: str = "type") -> ApprovalType:
    kind = registry.find_type(name)
    if kind is None:
        raise Invalid.field(field, f"no approval type {name!r}")
    return kind


def set_owners(
    db: Session, actor: Principal, *, type: str, user_ids: list[str]
) -> tuple[ApprovalType, list[str]]:
    """Route ``type`` to these governance owners (none: to every governance owner)."""
    actor.require(Permission.APPROVALS_ROUTE)
    kind = _known_type(type)
    wanted = sorted(set(user_ids))
    owners = {
        user.id
        for user in accounts.enabled_users_with_role(db, Role.GOVERNANCE_OWNER, among=wanted)
    }
    errors = [
        FieldError(f"user_ids.{index}", "not an enabled governance owner")
        for index, user_id in enumerate(user_ids)
        if user_id not in owners
    ]
    if errors:
        raise Invalid(errors[0].field + ": " + errors[0].detail, errors)
    before = _configured_owners(db, kind.name)
    if before == wanted:
        return kind, before
    db.execute(delete(ApprovalRoute).where(ApprovalRoute.type == kind.name))
    now = clock.now()
    db.add_all(ApprovalRoute(type=kind.name, owner_user_id=uid, created_at=now) for uid in wanted)
    db.flush()
    routed = events.Draft(
        "approval.routed", "approval_type", kind.name, {"from": before, "to": wanted}
    )
    events.append_many(db, actor, [routed])
    return kind, wanted


# --- asking ----------------------------------------------------------------------------------


def _validated_change(kind: ApprovalType, change: Any) -> dict[str, Any]:
    if not isinstance(change, dict):
        raise Invalid.field("proposed_change", "must be a JSON object")
    if kind.change is not None:
        try:
            model = kind.change.model_validate(change)
        except ValidationError as error:
            errors = [
                FieldError(
                    ".".join(["proposed_change", *(str(part) for part in item["loc"])]),
                    item["msg"],
                )
                for item in error.errors()
            ]
            summary = "; ".join(f"{e.field}: {e.detail}" for e in errors[:3])
            raise Invalid(summary, errors) from None
        change = model.model_dump(mode="json")
    try:
        text = json.dumps(change, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise Invalid.field("proposed_change", "holds a number JSON cannot carry") from None
    if not is_storable(text.replace("\n", " ")) or len(text.encode("utf-8")) > MAX_CHANGE_BYTES:
        raise Invalid.field(
            "proposed_change", f"must be storable text of at most {MAX_CHANGE_BYTES} bytes"
        )
    return dict(change)


def _requester(actor: Principal) -> tuple[str, str | None, str]:
    if actor.kind == "system":
        return "system", None, actor.name or "system"
    return actor.kind, actor.user_id, actor.name or (actor.user_id or "")


def request_approval(
    db: Session,
    actor: Principal,
    *,
    type: str,
    subject_type: str,
    subject_id: str,
    justification: str,
    proposed_change: dict[str, Any],
    partner_id: str | None = None,
    direct: bool = False,
) -> ApprovalRequest:
    """Ask for an exception of ``type``; it waits for its governance owners' decision.

    ``direct``: asked for through the API (only types that allow it); a domain's own flow (an
    activation held for approval) asks with ``direct=False``. A request for a subject that has
    one of the same type pending already is a conflict.
    """
    actor.require(Permission.APPROVALS_REQUEST)
    kind = _known_type(type)
    if direct and not kind.direct:
        raise Invalid.field("type", f"{type!r} requests are made by their own flow, not directly")
    if kind.subject_type is not None and subject_type != kind.subject_type:
        raise Invalid.field("subject_type", f"{type!r} requests are about a {kind.subject_type}")
    if not justification.strip():
        raise Invalid.field("justification", "say why the exception is needed")
    if actor.partner_scope is not None and partner_id is None:
        partner_id = actor.partner_scope
    if partner_id is not None:
        try:
            partners.scoped_partner(db, actor, partner_id)
        except NotFound:
            raise Invalid.field("partner_id", f"no partner {partner_id}") from None
    change = _validated_change(kind, proposed_change)
    pending = db.scalar(
        select(ApprovalRequest.id).where(
            ApprovalRequest.type == kind.name,
            ApprovalRequest.subject_type == subject_type,
            ApprovalRequest.subject_id == subject_id,
            ApprovalRequest.state == ApprovalState.PENDING.value,
        )
    )
    if pending is not None:
        raise Conflict(
            f"request {pending} of this type for this subject is pending already", existing=pending
        )
    by_type, by, name = _requester(actor)
    now = clock.now()
    request = ApprovalRequest(
        id=new_id("apr"),
        type=kind.name,
        subject_type=subject_type,
        subject_id=subject_id,
        partner_id=partner_id,
        requested_by_type=by_type,
        requested_by=by,
        requester_name=name[:200],
        justification=justification.strip(),
        proposed_change=change,
        state=ApprovalState.PENDING.value,
        due_at=now + kind.sla,
        escalation_level=0,
    )
    if kind.check is not None:
        kind.check(db, actor, request)
    db.add(request)
    db.flush()
    events.append_many(
        db,
        actor,
        [
            events.Draft(
                "approval.requested",
                "approval",
                request.id,
                {
                    "type": request.type,
                    "subject_type": request.subject_type,
                    "subject_id": request.subject_id,
                    "justification": request.justification,
                    "proposed_change": request.proposed_change,
                    "due_at": request.due_at.isoformat(),
                    "routed_to": routed_owners(db, request.type),
                },
                partner_id=request.partner_id,
            )
        ],
    )
    return request


# --- reading ---------------------------------------------------------------------------------


def pending_request(
    db: Session, *, type: str, subject_type: str, subject_id: str
) -> ApprovalRequest | None:
    """The pending request of ``type`` for a subject, if any (for the flows that ask for one)."""
    return db.scalar(
        select(ApprovalRequest).where(
            ApprovalRequest.subject_type == subject_type,
            ApprovalRequest.subject_id == subject_id,
            ApprovalRequest.type == type,
            ApprovalRequest.state == ApprovalState.PENDING.value,
        )
    )


def pending_change(
    db: Session, *, type: str, subject_type: str, subject_id: str
) -> dict[str, Any] | None:
    """The change a pending request of ``type`` proposes for a subject, or None: one read by
    the subject index, no ORM object (for hot paths such as license validation)."""
    row = db.execute(
        select(ApprovalRequest.proposed_change)
        .where(
            ApprovalRequest.subject_type == subject_type,
            ApprovalRequest.subject_id == subject_id,
            ApprovalRequest.type == type,
            ApprovalRequest.state == ApprovalState.PENDING.value,
        )
        .limit(1)
    ).first()
    return None if row is None else dict(row[0])


def _row(db: Session, request_id: str, *, lock: bool = False) -> ApprovalRequest | None:
    if not is_storable(request_id):
        return None
    query = select(ApprovalRequest).where(ApprovalRequest.id == request_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalars(query).one_or_none()


def _scoped(
    db: Session, actor: Principal, request_id: str, *, lock: bool = False
) -> ApprovalRequest:
    request = _row(db, request_id, lock=lock)
    if request is None or (
        actor.partner_scope is not None and request.partner_id != actor.partner_scope
    ):
        raise NotFound(f"approval request {request_id} not found")
    return request


def get_request(db: Session, actor: Principal, *, request_id: str) -> ApprovalRequest:
    """One request; :class:`NotFound` if unknown or, for partner users, another firm's."""
    actor.require(Permission.APPROVALS_READ)
    return _scoped(db, actor, request_id)


def is_overdue(request: ApprovalRequest, at: datetime | None = None) -> bool:
    """Whether a pending request is past its due time."""
    moment = at or clock.now()
    return request.state == ApprovalState.PENDING.value and request.due_at <= moment


def _requests_query(
    actor: Principal,
    *,
    state: ApprovalState | None,
    type: str | None,
    partner_id: str | None,
    subject_type: str | None,
    subject_id: str | None,
    overdue: bool | None,
) -> Select[Any]:
    query = select(ApprovalRequest)
    if actor.partner_scope is not None:
        query = query.where(ApprovalRequest.partner_id == actor.partner_scope)
    if partner_id is not None:
        query = query.where(ApprovalRequest.partner_id == partner_id)
    if state is not None:
        query = query.where(ApprovalRequest.state == ApprovalState(state).value)
    if type is not None:
        query = query.where(ApprovalRequest.type == type)
    if subject_type is not None:
        query = query.where(ApprovalRequest.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(ApprovalRequest.subject_id == subject_id)
    if overdue is not None:
        now = clock.now()
        late = (ApprovalRequest.state == ApprovalState.PENDING.value) & (
            ApprovalRequest.due_at <= now
        )
        query = query.where(late if overdue else ~late)
    return query


def list_requests(
    db: Session,
    actor: Principal,
    *,
    state: ApprovalState | None = None,
    type: str | None = None,
    partner_id: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    overdue: bool | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[ApprovalRequest]:
    """Requests matching every filter given, oldest first, one page at a time."""
    actor.require(Permission.APPROVALS_READ)
    check_cursor(cursor)
    for field, value in (
        ("type", type),
        ("partner_id", partner_id),
        ("subject_type", subject_type),
        ("subject_id", subject_id),
    ):
        if value is not None and not is_storable(value):
            raise Invalid.field(field, "contains characters that cannot be stored")
    query = _requests_query(
        actor,
        state=state,
        type=type,
        partner_id=partner_id,
        subject_type=subject_type,
        subject_id=subject_id,
        overdue=overdue,
    )
    return paginate(db, query, ApprovalRequest.id, cursor=cursor, limit=limit)


INBOX_LIMIT = 200
"""The most pending requests an inbox shows at once (the oldest due first)."""


def routed_types(db: Session, actor: Principal) -> list[str]:
    """The request types ``actor`` decides: those routed to them (every type for admins)."""
    actor.require(Permission.APPROVALS_DECIDE)
    names = [kind.name for kind in registry.types()]
    if actor.kind == "system" or actor.role is Role.ADMIN:
        return names
    return [name for name in names if actor.user_id in routed_owners(db, name)]


def inbox(db: Session, actor: Principal, *, limit: int = INBOX_LIMIT) -> list[ApprovalRequest]:
    """Pending requests ``actor`` may decide, overdue first: the soonest due at the top.

    Requests the actor made themselves are left out, since nobody decides their own.
    """
    types = routed_types(db, actor)
    if not types:
        return []
    query = _requests_query(
        actor,
        state=ApprovalState.PENDING,
        type=None,
        partner_id=None,
        subject_type=None,
        subject_id=None,
        overdue=None,
    ).where(ApprovalRequest.type.in_(types))
    if actor.user_id is not None:
        query = query.where(
            ApprovalRequest.requested_by.is_(None) | (ApprovalRequest.requested_by != actor.user_id)
        )
    query = query.order_by(ApprovalRequest.due_at, ApprovalRequest.id).limit(max(1, limit))
    return list(db.scalars(query))


def may_decide(db: Session, actor: Principal, request: ApprovalRequest) -> bool:
    """Whether ``actor`` may approve or reject ``request`` now (pages offer the form then)."""
    if not actor.can(Permission.APPROVALS_DECIDE) or request.state != ApprovalState.PENDING.value:
        return False
    try:
        _check_decider(db, actor, request)
    except Forbidden:
        return False
    return True


# --- deciding --------------------------------------------------------------------------------


def _pending(db: Session, actor: Principal, request_id: str) -> ApprovalRequest:
    request = _scoped(db, actor, request_id, lock=True)
    if request.state != ApprovalState.PENDING.value:
        raise Conflict(
            f"approval request {request.id} is {request.state}, no longer pending",
            state=request.state,
        )
    return request


def _check_decider(db: Session, actor: Principal, request: ApprovalRequest) -> None:
    actor.require(Permission.APPROVALS_DECIDE)
    if actor.kind == "system":
        return
    if request.requested_by is not None and actor.user_id == request.requested_by:
        raise Forbidden("nobody decides a request they made themselves")
    if actor.role is Role.ADMIN:
        return
    if actor.user_id not in routed_owners(db, request.type):
        raise Forbidden(f"{request.type!r} requests are routed to other governance owners")


def _decide(
    db: Session,
    actor: Principal,
    request: ApprovalRequest,
    state: ApprovalState,
    reason: str | None,
) -> None:
    request.state = state.value
    request.decided_by = actor.user_id
    request.decided_by_name = (actor.name or actor.kind)[:200]
    request.decided_at = clock.now()
    request.reason = reason


def _append(
    db: Session, actor: Principal, type: str, request: ApprovalRequest, **payload: Any
) -> None:
    # A draft: the payload names the request's type, which append() keeps for the event's own.
    draft = events.Draft(
        type,
        "approval",
        request.id,
        {"type": request.type, **payload},
        partner_id=request.partner_id,
    )
    events.append_many(db, actor, [draft])


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise Invalid.field("reason", "say why")
    return text or None


def approve(
    db: Session, actor: Principal, *, request_id: str, reason: str | None = None
) -> ApprovalRequest:
    """Approve a pending request and apply its change (see the module's notes on failures)."""
    actor.require(Permission.APPROVALS_DECIDE)
    why = _reason(reason, required=False)
    request = _pending(db, actor, request_id)
    _check_decider(db, actor, request)
    kind = registry.find_type(request.type)
    if kind is None:
        raise Conflict(f"approval type {request.type!r} is not known to this deployment")
    _decide(db, actor, request, ApprovalState.APPROVED, why)
    db.flush()
    _append(db, actor, "approval.approved", request, reason=why)
    applier = registry.applier_for(request.type)
    if applier is None:
        return request
    authority = Principal.system(f"approval {request.id}")
    try:
        with db.begin_nested():
            result = applier(db, authority, request)
    except CharterError as error:
        request.state = ApprovalState.FAILED.value
        request.error = error.detail
        request.result = {"problem": error.problem()}
        db.flush()
        _append(db, actor, "approval.failed", request, error=error.detail, problem=error.problem())
        return request
    request.state = ApprovalState.APPLIED.value
    request.applied_at = clock.now()
    request.result = dict(result or {})
    db.flush()
    _append(db, authority, "approval.applied", request, result=request.result)
    return request


def reject(db: Session, actor: Principal, *, request_id: str, reason: str) -> ApprovalRequest:
    """Reject a pending request, saying why; nothing changes."""
    actor.require(Permission.APPROVALS_DECIDE)
    why = _reason(reason, required=True)
    request = _pending(db, actor, request_id)
    _check_decider(db, actor, request)
    _decide(db, actor, request, ApprovalState.REJECTED, why)
    db.flush()
    _append(db, actor, "approval.rejected", request, reason=why)
    return request


def withdraw(
    db: Session, actor: Principal, *, request_id: str, reason: str | None = None
) -> ApprovalRequest:
    """Withdraw a pending request: its requester may, a partner admin for their firm, an admin."""
    actor.require(Permission.APPROVALS_REQUEST)
    why = _reason(reason, required=False)
    request = _scoped(db, actor, request_id, lock=True)
    own = request.requested_by is not None and actor.user_id == request.requested_by
    firm = actor.role is Role.PARTNER_ADMIN and request.partner_id == actor.partner_scope
    if not (own or firm or actor.kind == "system" or actor.role is Role.ADMIN):
        raise Forbidden("only the requester (or an admin) may withdraw a request")
    if request.state != ApprovalState.PENDING.value:
        raise Conflict(
            f"approval request {request.id} is {request.state}, no longer pending",
            state=request.state,
        )
    _decide(db, actor, request, ApprovalState.WITHDRAWN, why)
    db.flush()
    _append(db, actor, "approval.withdrawn", request, reason=why)
    return request


# --- escalating ------------------------------------------------------------------------------


def _level_due(request: ApprovalRequest, sla_hours: float, at: datetime) -> int:
    """The escalation level a pending request should have reached at ``at``: one when it is
    due, one more each further SLA period, at most :data:`MAX_ESCALATION_LEVEL`."""
    late = (at - request.due_at).total_seconds() / 3600
    if late < 0:
        return 0
    return min(MAX_ESCALATION_LEVEL, 1 + math.floor(late / sla_hours))


def escalate_overdue(db: Session, actor: Principal, *, at: datetime) -> list[ApprovalRequest]:
    """Escalate every pending request past its due time whose level is behind.

    Each escalation is one ``approval.escalated`` event (which carries the notices), however
    long the worker was away: a request overdue by three periods goes to level three at once.
    """
    actor.require(Permission.APPROVALS_DECIDE)
    rows = db.scalars(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.state == ApprovalState.PENDING.value,
            ApprovalRequest.due_at <= at,
            ApprovalRequest.escalation_level < MAX_ESCALATION_LEVEL,
        )
        .order_by(ApprovalRequest.id)
        .with_for_update(skip_locked=True)
    ).all()
    escalated = []
    for request in rows:
        kind = registry.find_type(request.type)
        sla = (kind.sla if kind is not None else registry.DEFAULT_SLA).total_seconds() / 3600
        level = _level_due(request, sla, at)
        if level <= request.escalation_level:
            continue
        request.escalation_level = level
        request.escalated_at = at
        db.flush()
        _append(
            db,
            actor,
            "approval.escalated",
            request,
            level=level,
            subject_type=request.subject_type,
            subject_id=request.subject_id,
            justification=request.justification,
            due_at=request.due_at.isoformat(),
            routed_to=routed_owners(db, request.type),
        )
        escalated.append(request)
    return escalated
