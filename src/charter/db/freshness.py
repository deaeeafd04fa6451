"""What a worker may keep in memory from the database, and for how long: until it changes.

A SQLite database tells exactly and cheaply whether anything was committed to it since a
moment: ``PRAGMA data_version`` on a connection changes whenever another connection, in this
process or any other, commits a change (and never for the connection's own, so the watching
connection only ever reads it). Asking costs a few microseconds and no lock. A
:class:`StampedCache` keeps values stamped with it and forgets them all as soon as it moves: a
revoked API key or license is refused by the very next request, whichever process revoked it.

PostgreSQL has no such question that costs less than the query it would save, so nothing is
kept there (:func:`change_watch` answers ``None``): every request reads.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

from sqlalchemy import Engine

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class DataVersion:
    """SQLite's ``data_version`` of one database file, read on a connection of its own."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def current(self) -> int | None:
        """A number that changes whenever a change is committed to the database; ``None`` when
        it cannot be read (then nothing should be trusted from memory)."""
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = sqlite3.connect(
                        f"file:{self._path}?mode=ro", uri=True, check_same_thread=False
                    )
                row = self._connection.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:
                self._connection = None
                return None
            return int(row[0])


def change_watch(engine: Engine) -> DataVersion | None:
    """The change watch of ``engine``'s database, or ``None`` where there is none (PostgreSQL,
    an in-memory SQLite database)."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return DataVersion(database)


class StampedCache(Generic[K, V]):
    """At most ``size`` values, all forgotten when the database changes.

    :meth:`get` answers a kept value, or ``None`` and the database's version *before* the
    caller reads the value, to give to :meth:`put` with it: a change committed in between
    makes the value look older than it is, never newer, and it is dropped at the next look.
    Without a watch the cache keeps nothing.
    """

    def __init__(self, watch: DataVersion | None, size: int) -> None:
        self._watch = watch
        self._size = size
        self._entries: dict[K, V] = {}
        self._stamp: int | None = None
        self._lock = threading.Lock()

    def get(self, key: K) -> tuple[V | None, int | None]:
        """The value kept for ``key`` if the database has not changed since it was read, else
        ``None`` and the stamp to :meth:`put` the value read next with."""
        if self._watch is None:
            return None, None
        version = self._watch.current()
        with self._lock:
            if version is None or version != self._stamp:
                self._entries.clear()
                self._stamp = version
                return None, version
            return self._entries.get(key), version

    def put(self, key: K, value: V, stamp: int | None) -> None:
        """Keep ``value`` for ``key``, read from the database as it was at ``stamp``."""
        if stamp is None:
            return
        with self._lock:
            if stamp != self._stamp:
                return  # the database changed since: the value may be stale already
            if len(self._entries) >= self._size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = value
