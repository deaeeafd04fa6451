"""One injectable clock, so that tests can move time.

Services call :func:`now`; tests replace the clock with :func:`use` or :class:`FrozenClock`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current time from the operating system."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved: for tests and for replaying history."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        """The frozen time."""
        return self._at

    def set(self, at: datetime) -> None:
        """Jump to ``at``."""
        self._at = ensure_utc(at)

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta``."""
        self._at += delta


_current: Clock = SystemClock()


def now() -> datetime:
    """The current time from the installed clock."""
    return _current.now()


def install(clock: Clock) -> Clock:
    """Install ``clock`` for the whole process; returns the previous one."""
    global _current
    previous, _current = _current, clock
    return previous


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Install ``clock`` for the duration of a ``with`` block."""
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)


def ensure_utc(value: datetime) -> datetime:
    """Timezone-aware UTC; naive values (as SQLite returns them) are taken as UTC."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
