"""Dispatching: the events log turned into jobs, exactly once per event and matching handler.

The dispatcher reads the events after its cursor (row-locked, so one dispatcher at a time
across processes), creates one job per event and matching handler, keyed
``event:<handler>:<event id>``, and moves the cursor, in the same transaction: an event is
turned into jobs exactly once, and never skipped. A handler with a horizon gets no job for an
event that is older than it (a worker started over an imported history sends no notice of
something years past); each batch says in the log how many it left out.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core import clock
from charter.core.models import Event
from charter.worker import jobs
from charter.worker.context import WorkerContext
from charter.worker.models import WorkerCursor
from charter.worker.registry import EventHandler

log = logging.getLogger("charter.worker")

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
            select(Event.seq, Event.id, Event.type, Event.occurred_at)
            .where(Event.seq > cursor.seq)
            .order_by(Event.seq)
            .limit(DISPATCH_BATCH)
        ).all()
        if not rows:
            return 0
        jobs.insert_ignoring_duplicates(db, _event_jobs(db, rows, handlers, context.settings))
        cursor.seq = rows[-1][0]
        cursor.updated_at = clock.now()
        return len(rows)


def _event_jobs(
    db: Session,
    rows: Sequence[Row[int, str, str, datetime]],
    handlers: Sequence[EventHandler],
    settings: Settings,
) -> list[dict[str, Any]]:
    """The rows of the jobs the events call for: one per event and handler that wants it."""
    wanted = {
        handler.name: handler.prefilter(db) if handler.prefilter else None for handler in handlers
    }
    now = clock.now()
    oldest = {
        handler.name: now - handler.horizon(settings)
        for handler in handlers
        if handler.horizon is not None
    }
    too_old: Counter[str] = Counter()
    new_jobs = []
    for seq, event_id, event_type, occurred_at in rows:
        for handler in handlers:
            predicate = wanted[handler.name]
            if not handler.matches(event_type):
                continue
            if predicate is not None and not predicate(event_type):
                continue
            cutoff = oldest.get(handler.name)
            if cutoff is not None and clock.ensure_utc(occurred_at) < cutoff:
                too_old[handler.name] += 1
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
    if too_old:
        log.info(
            "left out %d jobs of events older than their handler's horizon: %s",
            sum(too_old.values()),
            ", ".join(
                f"{name} {count} (events before {oldest[name]:%Y-%m-%d %H:%M} UTC)"
                for name, count in sorted(too_old.items())
            ),
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
