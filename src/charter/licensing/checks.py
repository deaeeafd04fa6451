"""What license validations observed, recorded off the hot path.

The validation route writes nothing itself: it appends an :class:`Observation` of each
decision about a found license to its process's :class:`CheckBuffer` (a bounded deque, so a
flood costs memory it never exceeds: the oldest observations give way), and a background
task flushes the buffer every few seconds in one multi-row insert into ``license_checks``.
A process that dies loses the observations of its last few seconds; the anomaly rules look
at hours, so that is acceptable. Unknown keys are not recorded (they are rate limited, and
have no license to alert on). The worker prunes rows older than the retention.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from charter.licensing.alert_models import LicenseCheck

log = logging.getLogger("charter.licensing")

BATCH = 500
"""Rows a statement inserts at most (SQLite bounds a statement's parameters)."""


class Observation(NamedTuple):
    """One validation decision about a found license."""

    license_id: str
    address: str
    fingerprint: str | None
    region: str | None
    country: str | None
    code: str
    checked_at: datetime


class CheckBuffer:
    """A process's observations waiting to be written, and the task that writes them."""

    def __init__(self, capacity: int, interval_seconds: float) -> None:
        self.pending: deque[Observation] = deque(maxlen=capacity)
        self.interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    def record(self, observation: Observation, flush: Callable[[], object]) -> None:
        """Keep ``observation``; start the flushing task on this event loop if none runs.

        ``flush`` writes the buffer (blocking); it runs in a worker thread.
        """
        self.pending.append(observation)
        task = self._task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            self._task = asyncio.get_running_loop().create_task(self._flush_every(flush))

    async def _flush_every(self, flush: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.pending:
                try:
                    await asyncio.to_thread(flush)
                except Exception:
                    log.exception("could not record license validations")

    def drain(self) -> list[Observation]:
        """Take every pending observation (safe against appends from the event loop)."""
        taken: list[Observation] = []
        while True:
            try:
                taken.append(self.pending.popleft())
            except IndexError:
                return taken


def flush_buffer(buffer: CheckBuffer, sessions: Callable[[], Session]) -> int:
    """Write the buffer's observations in one transaction; returns how many were written.

    When the database is busy, the observations go back to the buffer for the next flush.
    """
    taken = buffer.drain()
    if not taken:
        return 0
    try:
        with sessions() as db, db.begin():
            write(db, taken)
    except OperationalError:
        log.warning("license validations not recorded yet (database busy); retrying later")
        buffer.pending.extendleft(reversed(taken))
        return 0
    return len(taken)


def write(db: Session, observations: list[Observation]) -> None:
    """Insert ``observations``, a few hundred rows a statement."""
    for start in range(0, len(observations), BATCH):
        rows = [item._asdict() for item in observations[start : start + BATCH]]
        db.execute(insert(LicenseCheck).values(rows))


def prune(db: Session, *, before: datetime) -> int:
    """Delete the checks recorded before ``before``; returns how many."""
    result = db.execute(
        delete(LicenseCheck).where(LicenseCheck.checked_at < before),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)
