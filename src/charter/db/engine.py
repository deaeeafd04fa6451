"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from charter.config import Settings, get_settings


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, enforced foreign keys and IMMEDIATE writes."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(
            url, connect_args=connect_args, poolclass=kwargs.pop("poolclass", NullPool), **kwargs
        )
        _configure_sqlite(engine)
        return engine
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


SQLITE_PAGE_SIZE = 8192
"""Page size of SQLite databases Charter creates."""


def _configure_sqlite(engine: Engine) -> None:
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
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
