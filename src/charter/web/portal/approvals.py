"""The approvals inbox: requests routed to the signed-in governance owner, overdue first, and a
request's page, where its deciders approve or reject it with a reason. Everyone who reads
approvals sees the lists and the pages; partner users their own firm's requests only."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.approvals import service as approvals
from charter.approvals.enums import ApprovalState
from charter.approvals.models import ApprovalRequest
from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.errors import CharterError, Invalid
from charter.core.pagination import DEFAULT_LIMIT
from charter.deps import Cursor, DbSession, api_router
from charter.web.i18n import N_
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.filters import blank_to_none, choice, url_with
from charter.web.portal.forms import attempt
from charter.web.portal.posted import Posted, signed_form

router = api_router(include_in_schema=False)

Text = Annotated[str | None, Query(max_length=200)]
REASON = {"reason": 4000}
DECISIONS = ("approve", "reject")


@router.get("/approvals")
def approvals_list(
    request: Request,
    db: DbSession,
    state: Text = None,
    type: Text = None,
    cursor: Cursor = None,
) -> Response:
    """The inbox of the requests the user decides (overdue first), then every request they may
    read, filtered by state and type, one page at a time."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    filters = {"state": blank_to_none(state), "type": blank_to_none(type)}
    page = approvals.list_requests(
        db,
        principal,
        state=choice(ApprovalState, filters["state"], "state"),
        type=filters["type"],
        cursor=cursor,
        limit=DEFAULT_LIMIT,
    )
    inbox = approvals.inbox(db, principal) if principal.can(Permission.APPROVALS_DECIDE) else None
    next_url = (
        url_with("/approvals", filters, cursor=page.next_cursor) if page.next_cursor else None
    )
    now = clock.now()
    return render(
        request,
        "portal/approvals.html",
        {
            "principal": principal,
            "inbox": inbox,
            "page": page,
            "filters": filters,
            "states": list(ApprovalState),
            "overdue": {
                item.id for item in [*(inbox or []), *page.items] if approvals.is_overdue(item, now)
            },
            "next_url": next_url,
            "first_url": url_with("/approvals", filters) if cursor else None,
        },
    )


def _request_page(
    request: Request,
    db: Session,
    principal: Principal,
    item: ApprovalRequest,
    *,
    error: CharterError | None = None,
    reason: str = "",
) -> Response:
    context: dict[str, Any] = {
        "principal": principal,
        "item": item,
        "overdue": approvals.is_overdue(item),
        "change": json.dumps(item.proposed_change, indent=2, sort_keys=True, ensure_ascii=False),
        "result": (
            json.dumps(item.result, indent=2, sort_keys=True, ensure_ascii=False)
            if item.result
            else None
        ),
        "may_decide": approvals.may_decide(db, principal, item),
        "error": error,
        "reason": reason,
    }
    return render(
        request, "portal/approval.html", context, status_code=error.status if error else 200
    )


@router.get("/approvals/{request_id}")
def approval_page(request: Request, db: DbSession, request_id: str) -> Response:
    """One request: what it would change, why, where it stands, and the decision form."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    item = approvals.get_request(db, principal, request_id=request_id)
    return _request_page(request, db, principal, item)


@router.post("/approvals/{request_id}/{decision}")
def decide(
    request: Request, db: DbSession, form: Posted, request_id: str, decision: str
) -> Response:
    """Approve (the service applies the change) or reject a request; either needs a reason."""
    posted = signed_form(request, db, form, REASON)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    reason = values["reason"]
    item = approvals.get_request(db, principal, request_id=request_id)
    if decision not in DECISIONS:
        raise Invalid.field("decision", N_("must be approve or reject"))

    def run() -> ApprovalRequest:
        why = reason.strip()
        if not why:
            principal.require(Permission.APPROVALS_DECIDE)
            raise Invalid.field("reason", N_("say why"))
        if decision == "approve":
            return approvals.approve(db, principal, request_id=item.id, reason=why)
        return approvals.reject(db, principal, request_id=item.id, reason=why)

    outcome = attempt(db, run)
    if isinstance(outcome, CharterError):
        return _request_page(request, db, principal, item, error=outcome, reason=reason)
    return redirect(f"/approvals/{item.id}")
