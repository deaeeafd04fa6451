"""What the worker runs: handlers for entries of the events log, and periodic tasks.

Domain modules register their handlers here when they are imported; the worker imports every
module in :data:`HANDLER_MODULES` before it starts, so registration never depends on which
modules happened to be imported first.

An event handler runs once per matching event (at least once: it must be idempotent), in a
transaction of its own, with the worker's system principal. A periodic task runs once per
period across all worker processes. A task (:func:`task`) is work a handler queues with
:func:`charter.worker.jobs.enqueue`, such as sending one email or one webhook delivery: it
runs outside any transaction (it opens its own) so slow I/O holds no database locks.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from charter.config import Settings
from charter.core.auth import Principal
from charter.core.models import Event

EventRun = Callable[[Session, Principal, Event], None]
PeriodicRun = Callable[[Session, Principal, datetime], None]
# Called once per dispatched batch; the predicate it returns says which event types need a job
# (webhooks answer from the endpoints that exist, so events nobody subscribed to cost nothing).
Prefilter = Callable[[Session], Callable[[str], bool]]
# How old an event may be, when it is dispatched, and still get a job from a handler (notices
# of events long past, such as a whole imported history, help nobody); read from the settings.
Horizon = Callable[[Settings], timedelta]

# Every module that registers handlers. Listed explicitly: a handler nobody imports never runs.
HANDLER_MODULES = (
    "charter.worker.builtin",
    "charter.crypto.handlers",
    "charter.credentials.handlers",
    "charter.tiers.handlers",
    "charter.approvals.handlers",
    "charter.licensing.handlers",
    "charter.notify.handlers",
    "charter.webhooks.handlers",
    "charter.reports.handlers",
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failing job is retried: exponential backoff with jitter, within limits.

    The n-th retry waits ``base * 2**(n-1)`` capped at ``cap``, scaled by a random factor in
    [0.5, 1] so that jobs failing together do not retry together. The job is given up (dead)
    after ``max_attempts`` attempts or once ``give_up_after`` has passed since it was created,
    whichever comes first (``None``: no such limit).
    """

    max_attempts: int | None = 8
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)
    give_up_after: timedelta | None = None

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(attempt - 1, 0), 40)
        raw: timedelta = min(self.base * (2**exponent), self.cap)
        factor = 0.5 + 0.5 * (rng or random).random()  # jitter, not a secret
        return raw * factor

    def gives_up(self, *, attempts: int, created_at: datetime, next_at: datetime) -> bool:
        """Whether to stop after ``attempts`` when the next try would be at ``next_at``."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return True
        return self.give_up_after is not None and next_at - created_at > self.give_up_after


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class EventHandler:
    """Runs ``run`` for each event whose type matches one of ``types``."""

    name: str
    types: frozenset[str]
    run: EventRun
    prefilter: Prefilter | None = None
    retry: RetryPolicy = DEFAULT_RETRY
    horizon: Horizon | None = None

    def matches(self, event_type: str) -> bool:
        """Exact types match themselves; ``"award.*"`` matches every ``award.`` event."""
        if event_type in self.types or "*" in self.types:
            return True
        return any(t.endswith(".*") and event_type.startswith(t[:-1]) for t in self.types)


@dataclass(frozen=True, slots=True)
class PeriodicTask:
    """Runs ``run`` once per ``every``, with the start of the period as its argument."""

    name: str
    every: timedelta
    run: PeriodicRun
    retry: RetryPolicy = DEFAULT_RETRY

    def period_start(self, at: datetime) -> datetime:
        """The start of the period ``at`` falls in (periods are counted from the Unix epoch)."""
        epoch = datetime.fromtimestamp(0, tz=at.tzinfo)
        return epoch + ((at - epoch) // self.every) * self.every


@dataclass(frozen=True, slots=True)
class TaskContext:
    """What a task gets: sessions for its own transactions, the settings, who the worker is."""

    sessions: sessionmaker[Session]
    settings: Settings
    principal: Principal
    worker: str
    attempt: int
    job_id: str
    # Records the job's success in the task's own transaction (saving one of its own), so the
    # task's outcome and the job's commit together; False if another worker took the job over
    # (its lease ran out), in which case the task's outcome should still be recorded.
    complete: Callable[[Session], bool]
    # What the task's ``prepare`` read for this job when it was claimed (with its batch, a
    # moment ago), or None: the task then reads what it needs itself.
    prepared: Any = None


TaskRun = Callable[[TaskContext, str], None]
# Reads what the jobs of a claimed batch need, in the claim's transaction: ref -> data.
Prepare = Callable[[Session, list[str]], dict[str, Any]]
GiveUp = Callable[[Session, str, str], None]
WillRetry = Callable[[Session, str, datetime], None]


@dataclass(frozen=True, slots=True)
class Task:
    """Runs ``run(context, ref)`` for each queued job.

    ``on_retry(db, ref, next_at)`` and ``on_give_up(db, ref, error)`` let the task's own
    records show the next attempt or the final failure; they run in the transaction that
    records the job's outcome. ``prepare(db, refs)`` reads what a whole claimed batch needs
    with one query, handed to each run as ``context.prepared`` while still fresh.
    """

    name: str
    run: TaskRun
    retry: RetryPolicy = DEFAULT_RETRY
    on_give_up: GiveUp | None = None
    on_retry: WillRetry | None = None
    prepare: Prepare | None = None


class RetryLater(Exception):
    """Raised by a task whose attempt failed in an expected way: retried without a traceback."""


_event_handlers: dict[str, EventHandler] = {}
_periodic_tasks: dict[str, PeriodicTask] = {}
_tasks: dict[str, Task] = {}


def on_event(
    name: str,
    *types: str,
    prefilter: Prefilter | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    horizon: Horizon | None = None,
) -> Callable[[EventRun], EventRun]:
    """Register ``run`` as the handler ``name`` for the given event types (those older than
    ``horizon`` when dispatched excepted)."""

    def register(run: EventRun) -> EventRun:
        _event_handlers[name] = EventHandler(name, frozenset(types), run, prefilter, retry, horizon)
        return run

    return register


def periodic(
    name: str, every: timedelta, *, retry: RetryPolicy = DEFAULT_RETRY
) -> Callable[[PeriodicRun], PeriodicRun]:
    """Register ``run`` as the periodic task ``name``."""

    def register(run: PeriodicRun) -> PeriodicRun:
        _periodic_tasks[name] = PeriodicTask(name, every, run, retry)
        return run

    return register


def task(
    name: str,
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
    on_give_up: GiveUp | None = None,
    on_retry: WillRetry | None = None,
    prepare: Prepare | None = None,
) -> Callable[[TaskRun], TaskRun]:
    """Register ``run`` as the task ``name``, queued with :func:`charter.worker.jobs.enqueue`."""

    def register(run: TaskRun) -> TaskRun:
        _tasks[name] = Task(name, run, retry, on_give_up, on_retry, prepare)
        return run

    return register


def load() -> None:
    """Import every handler module, so that all handlers are registered."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)


def event_handlers() -> list[EventHandler]:
    """Every registered event handler, by name."""
    load()
    return [_event_handlers[name] for name in sorted(_event_handlers)]


def periodic_tasks() -> list[PeriodicTask]:
    """Every registered periodic task, by name."""
    load()
    return [_periodic_tasks[name] for name in sorted(_periodic_tasks)]


def tasks() -> list[Task]:
    """Every registered task, by name."""
    load()
    return [_tasks[name] for name in sorted(_tasks)]


def find(kind: str, name: str) -> EventHandler | PeriodicTask | Task | None:
    """The registered handler, periodic task or task of that kind and name."""
    load()
    if kind == "event":
        return _event_handlers.get(name)
    if kind == "periodic":
        return _periodic_tasks.get(name)
    return _tasks.get(name)
