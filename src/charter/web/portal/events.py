"""The events log on a page: filters (type, subject, firm, dates), newest first a page at a
time, each entry linked to its subject's page where the portal has one; for vendor staff, the
chain's last verification (the latest signed checkpoint) and a bounded walk on request."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core import eventlog
from charter.core.auth import Permission, Principal
from charter.core.errors import Invalid
from charter.core.models import Event
from charter.credentials import issuance
from charter.crypto import checkpoints
from charter.deps import DbSession, api_router
from charter.web.i18n import N_
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.access import is_staff
from charter.web.portal.filters import blank_to_none, url_with

router = api_router(include_in_schema=False)

Text = Annotated[str | None, Query(max_length=64)]
Before = Annotated[int | None, Query(ge=1, le=2**62)]
PAGE_SIZE = 50
VERIFY_AT_MOST = 20_000
"""Entries one "verify now" walks at most, from the latest checkpoint: it answers in moments."""
PAGES = {
    "partner": "/partners/{id}",
    "person": "/people/{id}",
    "approval": "/approvals/{id}",
    "license": "/licenses/{id}",
}


def _day(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid.field(field, N_("must be a date like 2027-01-31")) from None
    return datetime.combine(day, time(), tzinfo=UTC)


def subject_link(db: Session, principal: Principal, event: Event) -> str | None:
    """The portal page of ``event``'s subject, if there is one ``principal`` may open."""
    if event.subject_type in PAGES:
        return PAGES[event.subject_type].format(id=event.subject_id)
    if event.subject_type == "user" and principal.can(Permission.USERS_MANAGE):
        return f"/users/{event.subject_id}" if is_staff(principal) else None
    if event.subject_type == "award":
        credential = issuance.current_credential_for_award(db, event.subject_id)
        return f"/credentials/{credential.id}" if credential else None
    if event.subject_type == "credential":
        return f"/credentials/{event.subject_id}"
    return None


def _verification(db: Session, principal: Principal, walk: bool) -> dict[str, Any]:
    if not is_staff(principal):
        return {}
    context: dict[str, Any] = {
        "checkpoint": checkpoints.latest_checkpoint(db, principal),
        "may_verify": True,
    }
    if walk:
        context["check"] = checkpoints.verify_recent(db, principal, at_most=VERIFY_AT_MOST)
    return context


@router.get("/events")
def events_list(
    request: Request,
    db: DbSession,
    type: Text = None,
    subject_id: Text = None,
    partner_id: Text = None,
    occurred_from: Text = None,
    occurred_to: Text = None,
    before: Before = None,
    verify: Text = None,
) -> Response:
    """The events log, newest first, filtered; ``verify=now`` walks the chain (staff)."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    principal.require(Permission.EVENTS_READ)
    filters = {
        "type": blank_to_none(type),
        "subject_id": blank_to_none(subject_id),
        "partner_id": blank_to_none(partner_id),
        "occurred_from": blank_to_none(occurred_from),
        "occurred_to": blank_to_none(occurred_to),
    }
    last_day = _day(filters["occurred_to"], "occurred_to")
    page = eventlog.list_events(
        db,
        principal,
        type=filters["type"],
        subject_id=filters["subject_id"],
        partner_id=filters["partner_id"],
        occurred_from=_day(filters["occurred_from"], "occurred_from"),
        occurred_before=last_day + timedelta(days=1) if last_day else None,
        before_seq=before,
        newest_first=True,
        limit=PAGE_SIZE,
    )
    more = page.more and page.items
    next_url = url_with("/events", filters, before=str(page.items[-1].seq)) if more else None
    rows = [(event, subject_link(db, principal, event)) for event in page.items]
    return render(
        request,
        "portal/events.html",
        {
            "principal": principal,
            "rows": rows,
            "filters": filters,
            "next_url": next_url,
            "first_url": url_with("/events", filters) if before else None,
            "verify_url": url_with("/events", filters, verify="now"),
            **_verification(db, principal, verify == "now"),
        },
    )
