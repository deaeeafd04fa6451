"""Running claimed jobs and recording how each attempt ended.

An event handler or periodic task runs in one transaction together with the record of its
success; a task does its own I/O and records its outcome itself. A failure is retried with
exponential backoff and jitter; when the policy gives up, the job is dead and keeps its last
error. A worker whose lease ran out records nothing: the job is another worker's now.
"""

from __future__ import annotations

import logging
import time
import traceback
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.models import Event
from charter.worker import jobs, registry
from charter.worker.context import WorkerContext
from charter.worker.leases import Heartbeat, Prepared
from charter.worker.models import Job
from charter.worker.registry import EventHandler, PeriodicTask, RetryLater, Task

log = logging.getLogger("charter.worker")

# What a task prepared at claim time is used only this soon after; later, the task reads anew.
PREPARED_FRESH_SECONDS = 1.0

Runnable = EventHandler | PeriodicTask | Task


class LeaseLost(Exception):
    """Another worker took the job over (our lease ran out): our outcome is not recorded."""


def run_job(
    context: WorkerContext, job: Job, *, heartbeat: Heartbeat, prepared: Prepared | None = None
) -> bool:
    """Run one claimed job and record its outcome; whether it succeeded.

    ``prepared`` is what the job's task read for it when it was claimed, if anything.
    """
    started = time.monotonic()
    what = registry.find(job.kind, job.name)
    try:
        if what is None:
            raise RuntimeError(f"no {job.kind} handler named {job.name!r} is registered")
        with heartbeat.holding(job):
            if isinstance(what, EventHandler):
                _run_event(context, job, what)
            elif isinstance(what, PeriodicTask):
                _run_periodic(context, job, what)
            else:
                _run_task(context, job, what, prepared)
    except LeaseLost:
        log.warning("job %s (%s) attempt %d: lease lost", job.id, job.key, job.attempts)
        return False
    except Exception as error:  # every failure is recorded and retried, whatever it is
        record_failure(context, job, what, error)
        return False
    log.info(
        "job %s (%s) attempt %d done in %.0f ms",
        job.id,
        job.key,
        job.attempts,
        (time.monotonic() - started) * 1000,
    )
    return True


def run_events(context: WorkerContext, group: list[Job], *, heartbeat: Heartbeat) -> list[bool]:
    """Run claimed event jobs in one transaction, each in a savepoint of its own together
    with the record of its success; whether each succeeded.

    A job whose handler fails has its writes rolled back to its savepoint and its failure
    recorded once the others are committed; if the transaction itself cannot commit,
    nothing of it is kept and each job is run again on its own.
    """
    if len(group) == 1:
        return [run_job(context, group[0], heartbeat=heartbeat)]
    started = time.monotonic()
    outcomes: list[BaseException | None] = []
    handlers: list[Runnable | None] = []
    try:
        with heartbeat.holding(*group), context.transaction() as db:
            refs = [job.ref for job in group if job.ref is not None]
            found = {e.id: e for e in db.scalars(select(Event).where(Event.id.in_(refs)))}
            for job in group:
                what = registry.find(job.kind, job.name)
                handlers.append(what)
                try:
                    with db.begin_nested():
                        if not isinstance(what, EventHandler):
                            raise RuntimeError(
                                f"no {job.kind} handler named {job.name!r} is registered"
                            )
                        event = found.get(job.ref or "")
                        if event is None:
                            raise RuntimeError(f"event {job.ref} not found")
                        what.run(db, context.principal, event)
                        _mark_done(context, db, job)
                except Exception as error:  # recorded below, after the others commit
                    outcomes.append(error)
                else:
                    outcomes.append(None)
    except Exception as error:  # nothing was committed: one at a time, as usual
        log.warning("a group of %d event jobs failed to commit (%s)", len(group), error)
        return [run_job(context, job, heartbeat=heartbeat) for job in group]
    elapsed = (time.monotonic() - started) * 1000
    results = []
    for job, what, outcome in zip(group, handlers, outcomes, strict=True):
        if outcome is None:
            log.info("job %s (%s) attempt %d done in a group", job.id, job.key, job.attempts)
            results.append(True)
            continue
        if isinstance(outcome, LeaseLost):
            log.warning("job %s (%s) attempt %d: lease lost", job.id, job.key, job.attempts)
        elif isinstance(outcome, Exception):
            record_failure(context, job, what, outcome)
        results.append(False)
    log.debug("%d event jobs run in %.0f ms", len(group), elapsed)
    return results


def _mark_done(context: WorkerContext, db: Session, job: Job) -> None:
    if not jobs.mark_done(db, job_id=job.id, worker=context.name, attempt=job.attempts):
        raise LeaseLost(job.id)


def _run_event(context: WorkerContext, job: Job, handler: EventHandler) -> None:
    with context.transaction() as db:
        event = db.scalar(select(Event).where(Event.id == job.ref))
        if event is None:
            raise RuntimeError(f"event {job.ref} not found")
        handler.run(db, context.principal, event)
        _mark_done(context, db, job)


def _run_periodic(context: WorkerContext, job: Job, task: PeriodicTask) -> None:
    with context.transaction() as db:
        task.run(db, context.principal, datetime.fromisoformat(job.ref or ""))
        _mark_done(context, db, job)


def _run_task(context: WorkerContext, job: Job, task: Task, prepared: Prepared | None) -> None:
    completed = []

    def complete(db: Session) -> bool:
        done = jobs.mark_done(db, job_id=job.id, worker=context.name, attempt=job.attempts)
        if done:
            completed.append(True)
        return done

    fresh = prepared is not None and time.monotonic() - prepared.read_at < PREPARED_FRESH_SECONDS
    task_context = registry.TaskContext(
        sessions=context.sessions,
        settings=context.settings,
        principal=context.principal,
        worker=context.name,
        attempt=job.attempts,
        job_id=job.id,
        complete=complete,
        prepared=prepared.data if prepared is not None and fresh else None,
    )
    task.run(task_context, job.ref or "")
    if not completed:
        with context.transaction() as db:
            _mark_done(context, db, job)


def record_failure(
    context: WorkerContext, job: Job, what: Runnable | None, error: Exception
) -> None:
    """Record a failed attempt: pending again after the policy's backoff, or dead."""
    if isinstance(error, RetryLater):
        message = str(error)
    else:
        message = f"{type(error).__name__}: {error}"
        log.error(
            "job %s (%s) attempt %d raised\n%s",
            job.id,
            job.key,
            job.attempts,
            "".join(traceback.format_exception(error)),
        )
    # A job no handler here knows (a newer worker's, during a rolling upgrade) waits for
    # a worker that knows it, as long as any job would.
    policy = what.retry if what is not None else registry.DEFAULT_RETRY
    next_at = clock.now() + policy.delay(job.attempts)
    gives_up = policy.gives_up(attempts=job.attempts, created_at=job.created_at, next_at=next_at)
    with context.transaction() as db:
        recorded = jobs.mark_failed(
            db,
            job_id=job.id,
            worker=context.name,
            attempt=job.attempts,
            error=message,
            retry_at=None if gives_up else next_at,
        )
        if recorded and isinstance(what, Task):
            if gives_up and what.on_give_up is not None:
                what.on_give_up(db, job.ref or "", message)
            elif not gives_up and what.on_retry is not None:
                what.on_retry(db, job.ref or "", next_at)
    if gives_up:
        log.error(
            "job %s (%s) gave up after %d attempts: %s", job.id, job.key, job.attempts, message
        )
    else:
        log.warning(
            "job %s (%s) attempt %d failed, retry at %s: %s",
            job.id,
            job.key,
            job.attempts,
            next_at.isoformat(),
            message,
        )
