"""Rate limits of license validation: per key and per client address, in each worker process.

A generic cell rate algorithm (GCRA, the token bucket's exact twin): each name keeps one
number, the theoretical arrival time of its next request; a request is allowed while that
time is no further ahead than the burst allows, and otherwise told how long to wait. A name
whose time has passed is as good as unknown, so forgetting it changes nothing. Memory is
bounded: the names used least recently are forgotten first (a plain dict in use order, cheaper
on the hot path than a TTL cache), and a lock makes it safe across threads.

The limits hold per worker process: with N workers a client may get up to N times the rate.
That bounds abuse (guessing keys, hammering the database) without a shared store on the hot
path.

``limits`` (PyPI) was considered: its in-memory storage rescans every name from a timer
thread every 10 ms, which costs more than the validation it guards once many keys are seen.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

PERIOD_SECONDS = 60.0
"""Limits are counted per minute."""
MAX_NAMES = 100_000
"""Names (keys, addresses) remembered at most, per limiter."""


class RateLimiter:
    """At most ``per_period`` requests a name in any ``period`` seconds, all at once or spread."""

    def __init__(
        self,
        per_period: int,
        *,
        period: float = PERIOD_SECONDS,
        max_names: int = MAX_NAMES,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_period < 1:
            raise ValueError("a rate limit allows at least one request a period")
        self.interval = period / per_period
        self.burst = period - self.interval
        self._timer = timer
        self._max_names = max_names
        self._due: dict[str, float] = {}  # in the order names were last used
        self._lock = threading.Lock()

    def acquire(self, name: str) -> int | None:
        """Count a request by ``name``: ``None`` if allowed, else the whole seconds to wait."""
        with self._lock:
            now = self._timer()
            due = max(self._due.pop(name, now), now)
            wait = due - self.burst - now
            if wait > 0:
                self._due[name] = due
                return max(1, math.ceil(wait))
            self._due[name] = due + self.interval
            if len(self._due) > self._max_names:
                del self._due[next(iter(self._due))]
            return None

    def __len__(self) -> int:
        """How many names are remembered."""
        return len(self._due)
