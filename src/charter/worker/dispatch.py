"""Dispatching: the events log turned into jobs, exactly once per event and matching handler.

The dispatcher reads the events after its cursor (row-locked, so one dispatcher at a time
across processes), creates one job per event and matching handler, keyed
``event:<handler>:<event id>``, and moves the cursor, in the same transaction: an event is
turned into jobs exactly once, and never skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.models import Event
from charter.worker import jobs
from charter.worker.context import WorkerContext
from charter.worker.models import WorkerCursor
from charter.worker.registry import EventHandler

EVENTS_CURSOR = "events"
DISPATCH_BATCH = 500


def dispatch_events(context: WorkerContext, handlers: Sequence[EventHandler]) -> int | None:
    """Turn the next batch of new events into jobs; how many events (None: busy elsewhere)."""
    with context.transaction() as db:
        locked = (
            select(WorkerCursor)
            .where(WorkerCursor.name == EVENTS_CURSOR)
            .with_for_update(skip_locked=True)
        )
        cursor = db.scalar(locked)
        if cursor is None:
            if db.scalar(select(WorkerCursor.name).where(WorkerCursor.name == EVENTS_CURSOR)):
                return None  # another worker is dispatching right now
            _create_cursor(db)
            cursor = db.scalar(locked)
            if cursor is None:
                return None
        rows = db.execute(
            select(Event.seq, Event.id, Event.type)
            .where(Event.seq > cursor.seq)
            .order_by(Event.seq)
            .limit(DISPATCH_BATCH)
        ).all()
        if not rows:
            return 0
        jobs.insert_ignoring_duplicates(db, _event_jobs(db, rows, handlers))
        cursor.seq = rows[-1][0]
        cursor.updated_at = clock.now()
        return len(rows)


def _event_jobs(
    db: Session, rows: Sequence[Row[int, str, str]], handlers: Sequence[EventHandler]
) -> list[dict[str, Any]]:
    """The rows of the jobs the events call for: one per event and handler that wants it."""
    wanted = {
        handler.name: handler.prefilter(db) if handler.prefilter else None for handler in handlers
    }
    new_jobs = []
    for seq, event_id, event_type in rows:
        for handler in handlers:
            predicate = wanted[handler.name]
            if not handler.matches(event_type):
                continue
            if predicate is not None and not predicate(event_type):
                continue
            new_jobs.append(
                jobs.job_row(
                    kind="event",
                    name=handler.name,
                    ref=event_id,
                    key=f"event:{handler.name}:{event_id}",
                    position=seq,
                )
            )
    return new_jobs


def _create_cursor(db: Session) -> None:
    """The dispatcher's cursor at the start of the log; two workers racing make one row."""
    row = {"name": EVENTS_CURSOR, "seq": 0, "updated_at": clock.now()}
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        db.execute(postgresql.insert(WorkerCursor).values(row).on_conflict_do_nothing())
    else:
        db.execute(sqlite.insert(WorkerCursor).values(row).on_conflict_do_nothing())
