"""A worker: its context and the registered handlers, with what it keeps between passes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from charter.config import Settings, get_settings
from charter.core.auth import Principal
from charter.db.engine import make_engine, make_sessionmaker, use_settings
from charter.worker import execution, leases, registry
from charter.worker.context import WorkerContext, worker_name
from charter.worker.dispatch import dispatch_events
from charter.worker.leases import Heartbeat, Prepared
from charter.worker.models import Job
from charter.worker.scheduling import Scheduler


class Worker:
    """One worker: a name, a session factory and the registered handlers.

    It keeps what outlives one step: the periods it has scheduled, what its last claim
    prepared, and the thread renewing its leases (stopped by :meth:`close`).
    """

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
        settings = settings or configured or get_settings()
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
        factory = make_sessionmaker(engine)
        use_settings(factory, settings)
        self.context = WorkerContext(
            name=name or worker_name(),
            sessions=factory,
            settings=settings,
            principal=Principal.system("worker"),
            lease=lease or timedelta(seconds=settings.worker_lease_seconds),
        )
        self.batch_size = batch_size or settings.worker_batch_size
        self.handlers = registry.event_handlers()
        periodic = registry.periodic_tasks()
        tasks = registry.tasks()
        self._scheduler = Scheduler(periodic)
        self._tasks = {task.name: task for task in tasks}
        self._max_attempts = leases.attempt_limits(self.handlers, periodic, tasks)
        self._heartbeat = Heartbeat(self.context)
        self._prepared: dict[str, Prepared] = {}

    def dispatch(self) -> int | None:
        """Turn the next batch of new events into jobs; how many events (None: busy elsewhere)."""
        return dispatch_events(self.context, self.handlers)

    def schedule(self) -> int:
        """Create the current period's job of every periodic task not yet scheduled by us."""
        return self._scheduler.schedule(self.context)

    def claim(self) -> list[Job]:
        """Claim a batch of due jobs (and read what their tasks prepare for them)."""
        claim = leases.claim_batch(
            self.context, limit=self.batch_size, max_attempts=self._max_attempts, tasks=self._tasks
        )
        self._prepared = claim.prepared
        return claim.jobs

    def run_job(self, job: Job) -> bool:
        """Run one claimed job and record its outcome; whether it succeeded."""
        prepared = self._prepared.pop(job.id, None)
        return execution.run_job(self.context, job, heartbeat=self._heartbeat, prepared=prepared)

    def run_events(self, group: list[Job]) -> list[bool]:
        """Run claimed event jobs together (see :func:`execution.run_events`); each outcome."""
        return execution.run_events(self.context, group, heartbeat=self._heartbeat)

    def release(self, unstarted: list[Job]) -> None:
        """Give back claimed jobs we will not run (stopping): due again at once."""
        leases.release(self.context, unstarted)

    def close(self) -> None:
        """Stop the lease-renewing thread (the worker can still run jobs; it restarts it)."""
        self._heartbeat.stop()
        if self._own_engine is not None:
            self._own_engine.dispose()  # reconnects if the worker is used again


def _reconnects_per_transaction(engine: Engine) -> bool:
    database = engine.url.database
    return (
        engine.dialect.name == "sqlite"
        and isinstance(engine.pool, NullPool)
        and database not in {None, "", ":memory:"}
        and engine.url.query.get("mode") != "memory"
    )
