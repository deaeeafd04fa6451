"""Reading the events log: the entries a caller may see, in order, a page at a time.

Writing is :mod:`charter.core.events`; this is the one read path the API and the portal share,
so a partner user sees only their firm's entries whichever way they ask.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.models import Event


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
) -> EventPage:
    """Entries of the log after ``after_seq`` (or, ``newest_first``, the latest ones).

    Partner users see their own firm's entries only.
    """
    actor.require(Permission.EVENTS_READ)
    query = select(Event).where(Event.seq > after_seq)
    if type:
        query = query.where(Event.type == type)
    if subject_id:
        query = query.where(Event.subject_id == subject_id)
    if actor.partner_scope is not None:
        query = query.where(Event.partner_id == actor.partner_scope)
    order = Event.seq.desc() if newest_first else Event.seq
    rows = list(db.scalars(query.order_by(order).limit(limit + 1)))
    return EventPage(items=rows[:limit], more=len(rows) > limit)
