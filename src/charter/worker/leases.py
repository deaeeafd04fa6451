"""Holding jobs: claiming a batch with a lease, renewing it while they run, and giving back
the ones a stopping worker will not start.

A batch of due jobs is claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). A job
whose worker died is taken over by another once its lease runs out; a worker that is alive
renews the lease of the jobs it is running, so a long job is never taken over halfway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from charter.core import clock
from charter.worker import jobs
from charter.worker.context import WorkerContext
from charter.worker.models import Job
from charter.worker.registry import EventHandler, PeriodicTask, Task

log = logging.getLogger("charter.worker")


class Prepared(NamedTuple):
    """What a task's ``prepare`` read for one job when it was claimed, and when it read it."""

    read_at: float  # time.monotonic()
    data: Any


class Claim(NamedTuple):
    """A claimed batch: the jobs, and what their tasks prepared for them, by job id."""

    jobs: list[Job]
    prepared: dict[str, Prepared]


def attempt_limits(
    handlers: Sequence[EventHandler], periodic: Sequence[PeriodicTask], tasks: Sequence[Task]
) -> dict[str, int | None]:
    """Each registered job's attempt limit by ``kind:name``, as :func:`jobs.claim` takes them."""
    limits = {f"event:{h.name}": h.retry.max_attempts for h in handlers}
    limits |= {f"periodic:{p.name}": p.retry.max_attempts for p in periodic}
    limits |= {f"task:{t.name}": t.retry.max_attempts for t in tasks}
    return limits


def claim_batch(
    context: WorkerContext,
    *,
    limit: int,
    max_attempts: dict[str, int | None],
    tasks: Mapping[str, Task],
) -> Claim:
    """Claim a batch of due jobs (and read what their tasks prepare for them)."""
    with context.transaction() as db:
        claimed = jobs.claim(
            db,
            worker=context.name,
            limit=limit,
            lease=context.lease,
            max_attempts=max_attempts,
        )
        return Claim(claimed, _prepare(db, claimed, tasks))


def _prepare(db: Session, claimed: list[Job], tasks: Mapping[str, Task]) -> dict[str, Prepared]:
    """What each claimed task job's ``prepare`` reads, one query per task for the batch."""
    refs: dict[str, list[Job]] = {}
    for job in claimed:
        if job.kind == "task" and job.ref is not None:
            refs.setdefault(job.name, []).append(job)
    prepared: dict[str, Prepared] = {}
    for name, batch in refs.items():
        task = tasks.get(name)
        if task is None or task.prepare is None:
            continue
        found = task.prepare(db, [job.ref or "" for job in batch])
        at = time.monotonic()
        for job in batch:
            if job.ref in found:
                prepared[job.id] = Prepared(at, found[job.ref])
    return prepared


def release(context: WorkerContext, unstarted: Sequence[Job]) -> None:
    """Give back claimed jobs we will not run (stopping): due again at once."""
    with context.transaction() as db:
        for job in unstarted:
            jobs.mark_failed(
                db,
                job_id=job.id,
                worker=context.name,
                attempt=job.attempts,
                error="released unstarted: the worker was stopping",
                retry_at=clock.now(),
            )


class Heartbeat:
    """Renews the lease of the jobs a worker is running, so a long job (a full sweep) is not
    taken over by another worker halfway; a worker that dies stops renewing, and loses the job.

    One thread per worker renews whichever jobs are current (one job, or a group of event
    jobs run together), a third of a lease after they started and every third of a lease
    after that; short jobs never need it.
    """

    def __init__(self, context: WorkerContext) -> None:
        self._context = context
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._current: list[Job] | None = None
        self._closed = False

    @contextmanager
    def holding(self, *running: Job) -> Iterator[None]:
        """Within the block, ``running`` keep their lease (the thread starts on first use)."""
        with self._lock:
            self._current = list(running)
            if self._thread is None:
                self._thread = threading.Thread(target=self._renew, name="lease", daemon=True)
                self._thread.start()
        self._wake.set()
        try:
            yield
        finally:
            with self._lock:
                self._current = None

    def stop(self) -> None:
        """Stop the renewing thread; the next :meth:`holding` starts a new one."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._closed = thread is not None
        if thread is not None:
            self._wake.set()
            thread.join()
        self._closed = False

    def _renew(self) -> None:
        interval = max(self._context.lease.total_seconds() / 3, 0.05)
        held: list[Job] | None = None
        while True:
            woken = self._wake.wait(interval if held is not None else None)
            self._wake.clear()
            with self._lock:
                if self._closed:
                    return
                current = self._current
            if woken or current is not held or held is None:
                held = current  # new jobs, or none: their first renewal is an interval away
                continue
            try:
                self._extend(held)
            except Exception as error:  # the next beat tries again
                log.warning("job %s: could not renew its lease: %s", held[0].id, error)

    def _extend(self, held: list[Job]) -> None:
        with self._context.transaction() as db:
            until = clock.now() + self._context.lease
            for job in held:
                jobs.extend_lease(
                    db, job_id=job.id, worker=self._context.name, attempt=job.attempts, until=until
                )
