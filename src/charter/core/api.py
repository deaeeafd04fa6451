"""Routes of the core: the events log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Query

from charter.core import eventlog, eventverify
from charter.core.auth import Permission
from charter.core.schemas import ChainReportOut, EventOut, Page
from charter.deps import CurrentPrincipal, DbSession, Limit, api_router, offloaded

router = api_router()


@router.get("/events", response_model=Page[EventOut], tags=["events"])
def list_events(
    db: DbSession,
    actor: CurrentPrincipal,
    type: Annotated[str | None, Query(max_length=64)] = None,
    subject_id: Annotated[str | None, Query(max_length=40)] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Limit = 50,
) -> Page[EventOut]:
    """The events log in order; partner users see their firm's events only."""
    found = eventlog.list_events(
        db, actor, type=type, subject_id=subject_id, after_seq=after_seq, limit=limit
    )
    items = [EventOut.model_validate(row) for row in found.items]
    after = found.next_after
    return Page(items=items, next_cursor=str(after) if after is not None else None)


@router.get("/events/verify", response_model=ChainReportOut, tags=["events"])
@offloaded
def verify_events(db: DbSession, actor: CurrentPrincipal) -> ChainReportOut:
    """Walk the whole chain and report the first entry altered, removed or reordered."""
    actor.require(Permission.EVENTS_READ)
    if actor.partner_scope is not None:
        actor.require(Permission.USERS_MANAGE)
    return ChainReportOut(**asdict(eventverify.verify_chain(db)))
