"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from charter.config import Settings, get_settings

READ_ONLY = "charter_read_only"
"""Execution option of the engine :func:`reading` returns: its transactions only read."""

PING_AFTER_IDLE = 5.0
"""Seconds a pooled connection may sit idle and still be used without checking it first."""
_IDLE_SINCE = "charter_idle_since"

SPARE_CONNECTIONS = 2
"""Connections a server worker keeps beyond its request slots (idempotency keys, health)."""


def make_engine(url: str, *, lock_timeout: float | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, enforced foreign keys and IMMEDIATE writes.

    ``lock_timeout`` bounds how long a statement waits for a lock another transaction holds
    (SQLite's busy timeout, PostgreSQL's ``lock_timeout``) before it fails; unset, SQLite waits
    30 seconds and PostgreSQL as long as it takes.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and "uri" not in parsed.query:
            _create_private_file(Path(parsed.database))
        busy_seconds = 30.0 if lock_timeout is None else lock_timeout
        connect_args = {"check_same_thread": False, "timeout": busy_seconds}
        engine = create_engine(
            url, connect_args=connect_args, poolclass=kwargs.pop("poolclass", NullPool), **kwargs
        )
        _configure_sqlite(engine, busy_ms=round(busy_seconds * 1000))
        return engine
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    if lock_timeout is not None:
        kwargs["connect_args"] = {
            **kwargs.get("connect_args", {}),
            "options": f"-c lock_timeout={round(lock_timeout * 1000)}",
        }
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before it is used if it has been idle a while.

    A connection the server closed (a restart, an idle timeout) is then replaced before a
    request meets it, as SQLAlchemy's ``pool_pre_ping`` does, but without a round trip before
    every request: a connection returned to the pool less than :data:`PING_AFTER_IDLE` ago
    was working then. Raising :class:`DisconnectionError` from ``checkout`` makes the pool
    discard the connection and take another.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"a pooled connection no longer answers: {error}") from error


def _create_private_file(path: Path) -> None:
    """Create the database file readable by its owner alone, before SQLite creates it.

    SQLite would create it with the process umask (usually world-readable), and creates the
    ``-wal`` and ``-shm`` files with the database file's permissions: holding people's
    addresses, password hashes and key material, none of them is anyone else's to read. A
    directory made for it is its owner's alone too.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_server_engine(settings: Settings) -> Engine:
    """The engine of one server worker, its pool sized from the request slots.

    An admitted request holds at most one connection at a time (see ``deps``), so a pool of
    one connection a slot, and a few spare, never makes a request wait for a connection.
    Writes wait at most ``database_lock_timeout_seconds`` for a lock, then fail (a 503).
    """
    return make_engine(
        settings.database_url,
        lock_timeout=settings.database_lock_timeout_seconds,
        poolclass=QueuePool,
        pool_size=settings.server_read_slots + settings.server_write_slots + SPARE_CONNECTIONS,
        max_overflow=0,
        pool_timeout=settings.server_queue_seconds,
    )


LOCK_SQLSTATES = frozenset({"55P03", "40P01", "40001"})
"""PostgreSQL: lock not available (lock_timeout), deadlock, serialization failure."""


def is_lock_timeout(error: OperationalError) -> bool:
    """Whether ``error`` is a lock waited on too long (or a deadlock): transient, retryable."""
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        # The primary code: SQLITE_BUSY_SNAPSHOT and the like are extended SQLITE_BUSY.
        return original.sqlite_errorcode & 0xFF in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
    return getattr(original, "sqlstate", None) in LOCK_SQLSTATES


class _Writes:
    """How many write transactions this process has committed, or begun to commit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def bump(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        return self._count


_writes = _Writes()


def writes_committed() -> int:
    """A number that grows with every write transaction this process commits.

    What a worker keeps in memory from the database, stamped with it, is known stale once it
    changed: it grows when a write begins to commit and again when it has committed, so a
    read racing the commit cannot stamp the old state with the new number.
    """
    return _writes.count


@event.listens_for(Engine, "commit")
def _writing_commits(connection: Any) -> None:
    if not connection.get_execution_options().get(READ_ONLY):
        _writes.bump()


@event.listens_for(Session, "after_commit")
def _written(session: Session) -> None:
    bind = session.bind
    if bind is None or not bind.get_execution_options().get(READ_ONLY):
        _writes.bump()


def reading(engine: Engine) -> Engine:
    """``engine`` for transactions that only read: on SQLite they begin DEFERRED, so they never
    take (or wait for) the write lock and read the last committed state beside a writer."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        # BEGIN READ ONLY: a read that tries to write fails instead of writing by accident.
        options["postgresql_readonly"] = True
    return engine.execution_options(**options)


SQLITE_PAGE_SIZE = 8192
"""Page size of SQLite databases Charter creates."""


def _configure_sqlite(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so that BEGIN IMMEDIATE can be used:
        # writers then queue on the database lock instead of failing to upgrade a read lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Signed credentials are rows of a few kilobytes: on 4 KiB pages each takes a page of its
        # own with a third of it empty, and a bulk issuance writes (and checkpoints) that much
        # more. 8 KiB pages (PostgreSQL's size) hold three. Only a new, empty database takes
        # the setting (before WAL mode is set); an existing one keeps its page size.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers begin DEFERRED: in WAL mode they see the last commit and never block or wait.
        # Straight to the driver: this runs once a transaction, and SQLAlchemy's statement
        # machinery would cost more than the statement.
        begin = "BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        try:
            connection.connection.driver_connection.execute(begin)
        except sqlite3.OperationalError as error:  # wrapped as SQLAlchemy would have
            raise OperationalError(begin, None, error) from error


def make_sessionmaker(engine: Engine, settings: Settings | None = None) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them).

    ``settings`` travel with every session the factory makes (see :func:`settings_of`).
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    if settings is not None:
        use_settings(factory, settings)
    return factory


def use_settings(factory: sessionmaker[Session], settings: Settings) -> None:
    """Make ``settings`` the ones every session of ``factory`` carries to the services."""
    factory.configure(info={"settings": settings})


def settings_of(db: Session) -> Settings:
    """The settings a session was made with (the app's, the worker's), else the process's.

    The one way services reach settings: whoever makes the session factory (the app, the
    worker, the CLI, a test) decides them once, with :func:`use_settings`.
    """
    found = db.info.get("settings")
    return found if isinstance(found, Settings) else get_settings()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed if the block succeeds, rolled back otherwise."""
    with factory() as session, session.begin():
        yield session
