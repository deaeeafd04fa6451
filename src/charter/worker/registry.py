"""What the worker runs: handlers for entries of the events log, and periodic tasks.

Domain modules register their handlers here when they are imported; the worker imports every
module in :data:`HANDLER_MODULES` before it starts, so registration never depends on which
modules happened to be imported first.

An event handler runs once per matching event (at least once: it must be idempotent), in a
transaction of its own, with the worker's system principal. A periodic task runs once per
period across all worker processes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.core.models import Event

EventRun = Callable[[Session, Principal, Event], None]
PeriodicRun = Callable[[Session, Principal, datetime], None]

# Every module that registers handlers. Listed explicitly: a handler nobody imports never runs.
HANDLER_MODULES = (
    "charter.tiers.handlers",
    "charter.notify.handlers",
    "charter.webhooks.handlers",
)


@dataclass(frozen=True, slots=True)
class EventHandler:
    """Runs ``run`` for each event whose type matches one of ``types``."""

    name: str
    types: frozenset[str]
    run: EventRun

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


_event_handlers: dict[str, EventHandler] = {}
_periodic_tasks: dict[str, PeriodicTask] = {}


def on_event(name: str, *types: str) -> Callable[[EventRun], EventRun]:
    """Register ``run`` as the handler ``name`` for the given event types."""

    def register(run: EventRun) -> EventRun:
        _event_handlers[name] = EventHandler(name, frozenset(types), run)
        return run

    return register


def periodic(name: str, every: timedelta) -> Callable[[PeriodicRun], PeriodicRun]:
    """Register ``run`` as the periodic task ``name``."""

    def register(run: PeriodicRun) -> PeriodicRun:
        _periodic_tasks[name] = PeriodicTask(name, every, run)
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
