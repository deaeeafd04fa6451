"""Routes of the core: the events log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Query
from sqlalchemy import select

from charter.core import eventverify
from charter.core.auth import Permission
from charter.core.models import Event
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
    actor.require(Permission.EVENTS_READ)
    query = select(Event).where(Event.seq > after_seq)
    if type:
        query = query.where(Event.type == type)
    if subject_id:
        query = query.where(Event.subject_id == subject_id)
    if actor.partner_scope is not None:
        query = query.where(Event.partner_id == actor.partner_scope)
    rows = list(db.scalars(query.order_by(Event.seq).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [EventOut.model_validate(row) for row in rows]
    return Page(items=items, next_cursor=str(rows[-1].seq) if more else None)


@router.get("/events/verify", response_model=ChainReportOut, tags=["events"])
@offloaded
def verify_events(db: DbSession, actor: CurrentPrincipal) -> ChainReportOut:
    """Walk the whole chain and report the first entry altered, removed or reordered."""
    actor.require(Permission.EVENTS_READ)
    if actor.partner_scope is not None:
        actor.require(Permission.USERS_MANAGE)
    return ChainReportOut(**asdict(eventverify.verify_chain(db)))
