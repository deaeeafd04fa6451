"""Reading the events log: the entries a caller may see, in order, a page at a time.

Writing is :mod:`charter.core.events`; this is the one read path the API and the portal share,
so a partner user sees only their firm's entries whichever way they ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.models import Event
from charter.core.text import text_filter


@dataclass(frozen=True, slots=True)
class EventPage:
    """Entries of the log, and whether more follow the last one."""

    items: list[Event]
    more: bool

    @property
    def next_after(self) -> int | None:
        """The ``after_seq`` of the next page, if there is one."""
        return self.items[-1].seq if self.more and self.items else None


def list_events(
    db: Session,
    actor: Principal,
    *,
    type: str | None = None,
    subject_id: str | None = None,
    after_seq: int = 0,
    newest_first: bool = False,
    limit: int = 50,
    partner_id: str | None = None,
    occurred_from: datetime | None = None,
    occurred_before: datetime | None = None,
    before_seq: int | None = None,
) -> EventPage:
    """Entries of the log after ``after_seq`` (or, ``newest_first``, the latest ones; before
    ``before_seq`` for the next page of those), of a firm and within a time range if given.

    Partner users see their own firm's entries only.
    """
    actor.require(Permission.EVENTS_READ)
    # A byte no database stores (NUL) is refused alike on SQLite and PostgreSQL.
    type = text_filter(type, "type")
    subject_id = text_filter(subject_id, "subject_id")
    partner_id = text_filter(partner_id, "partner_id")
    query = select(Event).where(Event.seq > after_seq)
    if before_seq is not None:
        query = query.where(Event.seq < before_seq)
    if type:
        query = query.where(Event.type == type)
    if subject_id:
        query = query.where(Event.subject_id == subject_id)
    if partner_id:
        query = query.where(Event.partner_id == partner_id)
    if occurred_from is not None:
        query = query.where(Event.occurred_at >= occurred_from)
    if occurred_before is not None:
        query = query.where(Event.occurred_at < occurred_before)
    if actor.partner_scope is not None:
        query = query.where(Event.partner_id == actor.partner_scope)
    order = Event.seq.desc() if newest_first else Event.seq
    rows = list(db.scalars(query.order_by(order).limit(limit + 1)))
    return EventPage(items=rows[:limit], more=len(rows) > limit)
