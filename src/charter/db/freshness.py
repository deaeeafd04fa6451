"""What a worker may keep in memory from the database, and for how long: until it changes.

A SQLite database tells exactly and cheaply whether anything was committed to it since a
moment: ``PRAGMA data_version`` on a connection changes whenever another connection, in this
process or any other, commits a change (and never for the connection's own, so the watching
connection only ever reads it). Asking costs a few microseconds and no lock. A
:class:`StampedCache` keeps values stamped with it and forgets them all as soon as it moves: a
revoked API key or license is refused by the very next request, whichever process revoked it.

PostgreSQL has no such question that costs less than the query it would save. There, a worker
that runs as a server (``charter serve``) listens instead (:class:`ChangeNotices`): triggers on
the tables whose rows are kept (:data:`NOTIFYING_TABLES`) ``NOTIFY`` at commit, a thread of
the worker's own counts the notices, and the stamp is that count plus the writes this process
committed itself (counted as they commit, so the worker's own changes show
at once; another process's show as soon as its notice arrives, within milliseconds). While the
listening connection is down nothing is kept, and whatever is kept is forgotten at least every
:data:`MAX_AGE_SECONDS` all the same. Without a listener (tests, the CLI), nothing is kept.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Hashable
from typing import Any, Generic, Protocol, TypeVar

import psycopg
from sqlalchemy import Engine

from charter.db.engine import writes_committed

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Watch(Protocol):
    """Tells a number that changes whenever the database may have changed."""

    def current(self) -> int | None:
        """The number now; ``None`` when it cannot be told (keep nothing)."""
        ...


CHANNEL = "charter_changes"
"""The PostgreSQL notification channel the change triggers notify (see the migration)."""
NOTIFYING_TABLES = (
    "licenses",
    "products",
    "partners",
    "users",
    "api_keys",
    "awards",
    "issued_credentials",
    "people",
    "partner_regions",
    "certifications",
    "status_lists",
    "signing_keys",
)
"""Tables whose rows workers keep (license snapshots, API keys' principals, the answers of
reading routes such as the list of awards, the documents and records the verify route reads):
each change to them notifies :data:`CHANNEL` at commit."""
MAX_AGE_SECONDS = 5.0
"""What is kept on PostgreSQL is forgotten at least this often, notices or not."""


class ChangeNotices:
    """PostgreSQL's change notices for one worker process, counted by a thread of its own.

    ``connect`` opens a psycopg connection (autocommit) to the database; the thread listens on
    :data:`CHANNEL`, counts each notice, checks its connection every second, and reconnects
    after a failure (counting that too: notices may have been missed meanwhile).
    """

    def __init__(self, connect: Any, *, max_age: float = MAX_AGE_SECONDS) -> None:
        self._connect = connect
        self._max_age = max_age
        self._count = 0
        self._listening = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="charter-change-notices", daemon=True
        )
        self._thread.start()

    def current(self) -> int | None:
        """Notices counted plus this process's own commits (and a tick every ``max_age``
        seconds); ``None`` while the listening connection is down."""
        if not self._listening:
            return None
        tick = int(time.monotonic() // self._max_age)
        return (self._count << 40) + (tick << 20) + writes_committed()

    def wait_listening(self, timeout: float) -> bool:
        """Wait until the thread listens (tests, start-up); whether it does."""
        deadline = time.monotonic() + timeout
        while not self._listening and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._listening

    def close(self) -> None:
        """Stop listening (the thread ends within a second)."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._listen()
            except Exception as error:  # the connection failed: keep nothing, then retry
                self._listening = False
                self._count += 1
                log.warning("change notices: %s; listening again shortly", type(error).__name__)
                self._stopped.wait(1.0)

    def _listen(self) -> None:
        with self._connect() as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self._count += 1  # anything may have changed before we listened
            self._listening = True
            while not self._stopped.is_set():
                for _notice in connection.notifies(timeout=1.0):
                    self._count += 1
                connection.execute("SELECT 1")  # a dead connection fails here, not silently
        self._listening = False


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


def change_watch(engine: Engine, notices: ChangeNotices | None = None) -> Watch | None:
    """The change watch of ``engine``'s database: SQLite's data version, PostgreSQL's
    ``notices`` where a server listens for them; ``None`` where there is none (PostgreSQL
    without a listener, an in-memory SQLite database)."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return notices
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

    def __init__(self, watch: Watch | None, size: int) -> None:
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


def listen_for_changes(engine: Engine) -> ChangeNotices | None:
    """Start counting PostgreSQL's change notices for ``engine``'s database (``None`` on
    SQLite, which needs none)."""
    if engine.url.get_backend_name() != "postgresql":
        return None
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def connect() -> Any:
        return psycopg.connect(
            conninfo, autocommit=True, keepalives=1, keepalives_idle=10, keepalives_interval=5
        )

    return ChangeNotices(connect)


def notify_trigger_ddl() -> list[str]:
    """PostgreSQL statements creating the triggers that notify :data:`CHANNEL` (one notice a
    statement; PostgreSQL folds a transaction's identical notices into one, sent at commit)."""
    statements = [
        "CREATE OR REPLACE FUNCTION charter_notify_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
    ]
    for table in NOTIFYING_TABLES:
        statements.append(f"DROP TRIGGER IF EXISTS charter_notify_change ON {table}")
        statements.append(
            f"CREATE TRIGGER charter_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION charter_notify_change()"
        )
    return statements
