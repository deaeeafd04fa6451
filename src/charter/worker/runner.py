"""The worker loop: dispatch new events into jobs, schedule periodic tasks, claim and run jobs.

One pass of :class:`Worker` does, each step in its own short transaction:

1. **Dispatch**: read the events after the dispatcher's cursor (row-locked, so one dispatcher
   at a time across processes), create one job per event and matching handler, keyed
   ``event:<handler>:<event id>``, and move the cursor, in the same transaction: an event is
   turned into jobs exactly once, and never skipped.
2. **Schedule**: for each periodic task, create the job of the current period, keyed
   ``periodic:<task>:<period start>``; whoever inserts it first wins, the others insert nothing.
3. **Claim** a batch of due jobs with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and
   run them one by one. An event handler or periodic task runs in one transaction together
   with the record of its success; a task does its own I/O and records its outcome itself.
   A failure is retried with exponential backoff and jitter; when the policy gives up the
   job is dead and keeps its last error. A job whose worker died is taken over by another
   once its lease runs out.

Entry points: :func:`run_until_idle` (tests, cron, CI) and :func:`run_forever`
(``charter worker``), which stops after the current job on SIGTERM.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from charter.config import Settings, get_settings
from charter.core import clock
from charter.core.auth import Principal
from charter.core.models import Event
from charter.db.engine import make_engine, make_sessionmaker, use_settings
from charter.worker import jobs, registry
from charter.worker.models import Job, WorkerCursor
from charter.worker.registry import EventHandler, PeriodicTask, RetryLater, Task

log = logging.getLogger("charter.worker")

EVENTS_CURSOR = "events"
DISPATCH_BATCH = 500
# What a task prepared at claim time is used only this soon after; later, the task reads anew.
PREPARED_FRESH_SECONDS = 1.0


class LeaseLost(Exception):
    """Another worker took the job over (our lease ran out): our outcome is not recorded."""


@dataclass
class WorkerReport:
    """What a run did."""

    events_dispatched: int = 0
    jobs_done: int = 0
    jobs_failed: int = 0
    passes: int = 0
    stopped_by: str = "idle"

    @property
    def jobs_run(self) -> int:
        """Jobs attempted, whatever the outcome."""
        return self.jobs_done + self.jobs_failed


def worker_name() -> str:
    """A name that tells a log reader which host and process ran a job."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class Worker:
    """One worker: a name, a session factory and the registered handlers."""

    def __init__(
        self,
        sessions: sessionmaker[Session] | Engine,
        settings: Settings | None = None,
        *,
        name: str | None = None,
        batch_size: int | None = None,
        lease: timedelta | None = None,
    ) -> None:
        if isinstance(sessions, Engine):
            engine = sessions
            configured = None
        else:
            engine = sessions.kw["bind"]
            configured = sessions.kw.get("info", {}).get("settings")
        self.settings = settings or configured or get_settings()
        self._own_engine: Engine | None = None
        if _reconnects_per_transaction(engine):
            # A SQLite file behind a pool of none: opening and closing the database around
            # every transaction costs more than the jobs themselves; keep a couple open.
            engine = make_engine(
                engine.url.render_as_string(hide_password=False),
                poolclass=QueuePool,
                pool_size=2,
                max_overflow=4,
            )
            self._own_engine = engine
        self.sessions = make_sessionmaker(engine)
        use_settings(self.sessions, self.settings)
        self.name = name or worker_name()
        self.batch_size = batch_size or self.settings.worker_batch_size
        self.lease = lease or timedelta(seconds=self.settings.worker_lease_seconds)
        self.principal = Principal.system("worker")
        self.handlers = registry.event_handlers()
        self.periodic = registry.periodic_tasks()
        self.tasks = registry.tasks()
        self._scheduled: dict[str, datetime] = {}
        self._beat: threading.Thread | None = None
        self._beat_lock = threading.Lock()
        self._beat_wake = threading.Event()
        self._current: list[Job] | None = None
        self._closed = False
        self._tasks_by_name = {t.name: t for t in self.tasks}
        self._prepared: dict[str, tuple[float, Any]] = {}
        self._max_attempts = {f"event:{h.name}": h.retry.max_attempts for h in self.handlers}
        self._max_attempts |= {f"periodic:{p.name}": p.retry.max_attempts for p in self.periodic}
        self._max_attempts |= {f"task:{t.name}": t.retry.max_attempts for t in self.tasks}

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self.sessions() as db, db.begin():
            yield db

    def dispatch(self) -> int | None:
        """Turn the next batch of new events into jobs; how many events (None: busy elsewhere)."""
        with self._transaction() as db:
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
            wanted = {
                handler.name: handler.prefilter(db) if handler.prefilter else None
                for handler in self.handlers
            }
            new_jobs = []
            for seq, event_id, event_type in rows:
                for handler in self.handlers:
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
            jobs.insert_ignoring_duplicates(db, new_jobs)
            cursor.seq = rows[-1][0]
            cursor.updated_at = clock.now()
            return len(rows)

    def schedule(self) -> int:
        """Create the current period's job of every periodic task not yet scheduled by us."""
        now = clock.now()
        due = []
        for task in self.periodic:
            start = task.period_start(now)
            if self._scheduled.get(task.name) == start:
                continue
            due.append((task, start))
        if not due:
            return 0
        with self._transaction() as db:
            jobs.insert_ignoring_duplicates(
                db,
                [
                    jobs.job_row(
                        kind="periodic",
                        name=task.name,
                        ref=start.isoformat(),
                        key=f"periodic:{task.name}:{start.isoformat()}",
                    )
                    for task, start in due
                ],
            )
        for task, start in due:
            self._scheduled[task.name] = start
        return len(due)

    def claim(self) -> list[Job]:
        """Claim a batch of due jobs (and read what their tasks prepare for them)."""
        with self._transaction() as db:
            claimed = jobs.claim(
                db,
                worker=self.name,
                limit=self.batch_size,
                lease=self.lease,
                max_attempts=self._max_attempts,
            )
            self._prepared = self._prepare(db, claimed)
        return claimed

    def _prepare(self, db: Session, claimed: list[Job]) -> dict[str, tuple[float, Any]]:
        refs: dict[str, list[Job]] = {}
        for job in claimed:
            if job.kind == "task" and job.ref is not None:
                refs.setdefault(job.name, []).append(job)
        prepared: dict[str, tuple[float, Any]] = {}
        for name, batch in refs.items():
            task = self._tasks_by_name.get(name)
            if task is None or task.prepare is None:
                continue
            found = task.prepare(db, [job.ref or "" for job in batch])
            at = time.monotonic()
            for job in batch:
                if job.ref in found:
                    prepared[job.id] = (at, found[job.ref])
        return prepared

    def run_job(self, job: Job) -> bool:
        """Run one claimed job and record its outcome; whether it succeeded."""
        started = time.monotonic()
        what = registry.find(job.kind, job.name)
        try:
            if what is None:
                raise RuntimeError(f"no {job.kind} handler named {job.name!r} is registered")
            with self._heartbeat(job):
                if isinstance(what, EventHandler):
                    self._run_event(job, what)
                elif isinstance(what, PeriodicTask):
                    self._run_periodic(job, what)
                else:
                    self._run_task(job, what)
        except LeaseLost:
            log.warning("job %s (%s) attempt %d: lease lost", job.id, job.key, job.attempts)
            return False
        except Exception as error:  # every failure is recorded and retried, whatever it is
            self._failed(job, what, error)
            return False
        log.info(
            "job %s (%s) attempt %d done in %.0f ms",
            job.id,
            job.key,
            job.attempts,
            (time.monotonic() - started) * 1000,
        )
        return True

    @contextmanager
    def _heartbeat(self, *running: Job) -> Iterator[None]:
        """Renew the job's lease while it runs, so a long job (a full sweep) is not taken over
        by another worker halfway; a worker that dies stops renewing, and loses the job.

        One thread per worker renews whichever jobs are current (one job, or a group of event
        jobs run together), a third of a lease after they started and every third of a lease
        after that; short jobs never need it.
        """
        with self._beat_lock:
            self._current = list(running)
            if self._beat is None:
                self._beat = threading.Thread(target=self._renew, name="lease", daemon=True)
                self._beat.start()
        self._beat_wake.set()
        try:
            yield
        finally:
            with self._beat_lock:
                self._current = None

    def close(self) -> None:
        """Stop the lease-renewing thread (the worker can still run jobs; it restarts it)."""
        with self._beat_lock:
            beat, self._beat = self._beat, None
            self._closed = beat is not None
        if beat is not None:
            self._beat_wake.set()
            beat.join()
        self._closed = False
        if self._own_engine is not None:
            self._own_engine.dispose()  # reconnects if the worker is used again

    def _renew(self) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.05)
        held: list[Job] | None = None
        while True:
            woken = self._beat_wake.wait(interval if held is not None else None)
            self._beat_wake.clear()
            with self._beat_lock:
                if self._closed:
                    return
                current = self._current
            if woken or current is not held or held is None:
                held = current  # new jobs, or none: their first renewal is an interval away
                continue
            try:
                with self._transaction() as db:
                    until = clock.now() + self.lease
                    for job in held:
                        jobs.extend_lease(
                            db, job_id=job.id, worker=self.name, attempt=job.attempts, until=until
                        )
            except Exception as error:  # the next beat tries again
                log.warning("job %s: could not renew its lease: %s", held[0].id, error)

    def _done(self, db: Session, job: Job) -> None:
        if not jobs.mark_done(db, job_id=job.id, worker=self.name, attempt=job.attempts):
            raise LeaseLost(job.id)

    def _run_event(self, job: Job, handler: EventHandler) -> None:
        with self._transaction() as db:
            event = db.scalar(select(Event).where(Event.id == job.ref))
            if event is None:
                raise RuntimeError(f"event {job.ref} not found")
            handler.run(db, self.principal, event)
            self._done(db, job)

    def run_events(self, group: list[Job]) -> list[bool]:
        """Run claimed event jobs in one transaction, each in a savepoint of its own together
        with the record of its success; whether each succeeded.

        A job whose handler fails has its writes rolled back to its savepoint and its failure
        recorded once the others are committed; if the transaction itself cannot commit,
        nothing of it is kept and each job is run again on its own.
        """
        if len(group) == 1:
            return [self.run_job(group[0])]
        started = time.monotonic()
        outcomes: list[BaseException | None] = []
        handlers: list[EventHandler | PeriodicTask | Task | None] = []
        try:
            with self._heartbeat(*group), self._transaction() as db:
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
                            what.run(db, self.principal, event)
                            self._done(db, job)
                    except Exception as error:  # recorded below, after the others commit
                        outcomes.append(error)
                    else:
                        outcomes.append(None)
        except Exception as error:  # nothing was committed: one at a time, as usual
            log.warning("a group of %d event jobs failed to commit (%s)", len(group), error)
            return [self.run_job(job) for job in group]
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
                self._failed(job, what, outcome)
            results.append(False)
        log.debug("%d event jobs run in %.0f ms", len(group), elapsed)
        return results

    def _run_periodic(self, job: Job, task: PeriodicTask) -> None:
        with self._transaction() as db:
            task.run(db, self.principal, datetime.fromisoformat(job.ref or ""))
            self._done(db, job)

    def _run_task(self, job: Job, task: Task) -> None:
        completed = []

        def complete(db: Session) -> bool:
            done = jobs.mark_done(db, job_id=job.id, worker=self.name, attempt=job.attempts)
            if done:
                completed.append(True)
            return done

        prepared = self._prepared.pop(job.id, None)
        fresh = prepared is not None and time.monotonic() - prepared[0] < PREPARED_FRESH_SECONDS
        context = registry.TaskContext(
            sessions=self.sessions,
            settings=self.settings,
            principal=self.principal,
            worker=self.name,
            attempt=job.attempts,
            job_id=job.id,
            complete=complete,
            prepared=prepared[1] if prepared is not None and fresh else None,
        )
        task.run(context, job.ref or "")
        if not completed:
            with self._transaction() as db:
                self._done(db, job)

    def _failed(
        self, job: Job, what: EventHandler | PeriodicTask | Task | None, error: Exception
    ) -> None:
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
        now = clock.now()
        next_at = now + policy.delay(job.attempts)
        gives_up = policy.gives_up(
            attempts=job.attempts, created_at=job.created_at, next_at=next_at
        )
        with self._transaction() as db:
            recorded = jobs.mark_failed(
                db,
                job_id=job.id,
                worker=self.name,
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
                "job %s (%s) gave up after %d attempts: %s",
                job.id,
                job.key,
                job.attempts,
                message,
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

    def run_pass(self, report: WorkerReport, stop: threading.Event | None = None) -> bool:
        """One pass: schedule, dispatch, claim and run a batch; whether anything happened."""
        report.passes += 1
        busy = False
        self.schedule()
        dispatched = self.dispatch()
        if dispatched is None or dispatched:
            busy = True
            report.events_dispatched += dispatched or 0
        claimed = self.claim()
        index = 0
        while index < len(claimed):
            if stop is not None and stop.is_set():
                self._release(claimed[index:])
                break
            group = [claimed[index]]
            if group[0].kind == "event":  # consecutive event jobs share one transaction
                while index + len(group) < len(claimed):
                    following = claimed[index + len(group)]
                    if following.kind != "event":
                        break
                    group.append(following)
            for succeeded in self.run_events(group) if len(group) > 1 else [self.run_job(group[0])]:
                if succeeded:
                    report.jobs_done += 1
                else:
                    report.jobs_failed += 1
            index += len(group)
        return busy or bool(claimed)

    def _release(self, unstarted: list[Job]) -> None:
        """Give back claimed jobs we will not run (stopping): due again at once."""
        with self._transaction() as db:
            for job in unstarted:
                jobs.mark_failed(
                    db,
                    job_id=job.id,
                    worker=self.name,
                    attempt=job.attempts,
                    error="released unstarted: the worker was stopping",
                    retry_at=clock.now(),
                )


def _reconnects_per_transaction(engine: Engine) -> bool:
    database = engine.url.database
    return (
        engine.dialect.name == "sqlite"
        and isinstance(engine.pool, NullPool)
        and database not in {None, "", ":memory:"}
        and engine.url.query.get("mode") != "memory"
    )


def _create_cursor(db: Session) -> None:
    """The dispatcher's cursor at the start of the log; two workers racing make one row."""
    row = {"name": EVENTS_CURSOR, "seq": 0, "updated_at": clock.now()}
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        db.execute(postgresql.insert(WorkerCursor).values(row).on_conflict_do_nothing())
    else:
        db.execute(sqlite.insert(WorkerCursor).values(row).on_conflict_do_nothing())


def run_until_idle(
    sessions: sessionmaker[Session] | Engine,
    settings: Settings | None = None,
    *,
    max_seconds: float | None = None,
    max_passes: int = 10_000,
    name: str | None = None,
    stop: threading.Event | None = None,
) -> WorkerReport:
    """Run passes until one finds nothing to do (no new event, no due job), then return.

    Jobs waiting for a later retry do not count as work: move the clock on and call again.
    """
    worker = Worker(sessions, settings, name=name)
    report = WorkerReport()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        for _ in range(max_passes):
            if stop is not None and stop.is_set():
                report.stopped_by = "signal"
                return report
            if deadline is not None and time.monotonic() >= deadline:
                report.stopped_by = "time"
                return report
            if not worker.run_pass(report, stop):
                return report
        report.stopped_by = "passes"
        return report
    finally:
        worker.close()


def run_forever(
    sessions: sessionmaker[Session] | Engine,
    settings: Settings | None = None,
    *,
    poll_seconds: float | None = None,
    max_seconds: float | None = None,
    until_idle: bool = False,
    name: str | None = None,
    stop: threading.Event | None = None,
) -> WorkerReport:
    """Run until stopped (``stop`` set, SIGTERM/SIGINT via :func:`stop_on_signals`), idle
    (``until_idle``) or out of time (``max_seconds``); waits ``poll_seconds`` when idle."""
    worker = Worker(sessions, settings, name=name)
    stop = stop or threading.Event()
    poll = poll_seconds if poll_seconds is not None else worker.settings.worker_poll_seconds
    report = WorkerReport()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    log.info("worker %s started", worker.name)
    try:
        _loop(worker, report, stop, poll=poll, deadline=deadline, until_idle=until_idle)
    finally:
        worker.close()
    log.info(
        "worker %s stopped (%s): %d jobs done, %d failed",
        worker.name,
        report.stopped_by,
        report.jobs_done,
        report.jobs_failed,
    )
    return report


def _loop(
    worker: Worker,
    report: WorkerReport,
    stop: threading.Event,
    *,
    poll: float,
    deadline: float | None,
    until_idle: bool,
) -> None:
    while True:
        if stop.is_set():
            report.stopped_by = "signal"
            return
        if deadline is not None and time.monotonic() >= deadline:
            report.stopped_by = "time"
            return
        try:
            busy = worker.run_pass(report, stop)
        except OperationalError as error:
            # The database went away or is busy: the jobs are safe in it; try again later.
            log.error("worker %s: database error, retrying: %s", worker.name, error.orig)
            stop.wait(max(poll, 1.0))
            continue
        if not busy:
            if until_idle:
                report.stopped_by = "idle"
                return
            wait = poll if deadline is None else min(poll, max(deadline - time.monotonic(), 0))
            stop.wait(wait)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Within the block, SIGTERM or SIGINT set ``stop``: the current job finishes, then the
    worker exits. The previous handlers come back afterwards."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the current job", signal.Signals(signum).name)
        stop.set()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
