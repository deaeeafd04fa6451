"""A bounded, thread-safe memory of values by key, for what the public routes serve most.

Bounded by the total size of what it holds (least recently used first out) and, optionally,
by age. Every access holds one lock: the server's threads and its event loop share it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Hashable, MutableMapping
from typing import Generic, TypeVar

from cachetools import LRUCache, TLRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """At most ``max_size`` (by ``size``) of values, each kept at most ``ttl`` seconds."""

    def __init__(
        self,
        max_size: int,
        *,
        size: Callable[[V], int],
        ttl: float | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._values: MutableMapping[K, V]
        if ttl is None:
            self._values = LRUCache(maxsize=max_size, getsizeof=size)
        else:
            self._values = TLRUCache[K, V, float](
                maxsize=max_size,
                ttu=lambda _key, _value, now: now + ttl,
                timer=timer,
                getsizeof=size,
            )

    def get(self, key: K) -> V | None:
        """The value kept for ``key``, if any."""
        with self._lock:
            return self._values.get(key)

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` (a value larger than the whole memory is not kept)."""
        with self._lock, contextlib.suppress(ValueError):  # too large to keep at all
            self._values[key] = value

    def forget(self, key: K) -> None:
        """Forget the value kept for ``key``, if any."""
        with self._lock:
            self._values.pop(key, None)

    def clear(self) -> None:
        """Forget everything (tests; a deployment never needs to)."""
        with self._lock:
            self._values.clear()
