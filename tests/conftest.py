"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests create their own database (one per test process) and drop it at the end.
Set ``CHARTER_TEST_BACKENDS=sqlite`` to run on SQLite alone while iterating.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from charter.app import create_app
from charter.config import Settings
from charter.core import clock
from charter.core.auth import Principal
from charter.db.base import Base
from charter.db.engine import make_engine, make_sessionmaker
from charter.partners import taxonomy
from charter.schema import create_all
from tests import factories
from tests.mail import Inbox
from tests.servers import uvicorn_serving

# Property tests explore new examples locally; in CI they replay the same ones, so a run's
# outcome depends on the code alone. No example is timed (Hypothesis's default deadline): a
# busy machine must not fail a test, and speed is measured in bench/.
hypothesis_settings.register_profile("charter", deadline=None)
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "charter")

POSTGRES_ADMIN_URL = os.environ.get(
    "CHARTER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [b for b in os.environ.get("CHARTER_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


def _postgres_database() -> Iterator[str]:
    name = f"charter_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database per backend and test process, with the schema created once."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "charter.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        create_all(engine)
        engine.dispose()
        yield url
    else:
        generator = _postgres_database()
        url = next(generator)
        engine = make_engine(url)
        create_all(engine)
        engine.dispose()
        yield url
        generator.close()


@pytest.fixture(scope="session")
def _engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_engine: Engine) -> Engine:
    """The test database, emptied before each test."""
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with _engine.begin() as connection:
        if _engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f"DELETE FROM {name}"))
        connection.execute(
            text("INSERT INTO event_chain_head (id, seq, hash) VALUES (1, 0, :genesis)"),
            {"genesis": "0" * 64},
        )
        # As the migration does: a program starts with the default tracks, regions and types.
        taxonomy.seed_defaults(connection)
    return _engine


@pytest.fixture
def backend(engine: Engine) -> str:
    """``sqlite`` or ``postgresql``."""
    return engine.dialect.name


@pytest.fixture
def sessions(engine: Engine, settings: Settings) -> sessionmaker[Session]:
    """A session factory on the test database, signing with the app's test settings."""
    factory = make_sessionmaker(engine)
    # As create_app does: services that sign read the settings from the session.
    factory.configure(info={"settings": settings})
    return factory


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and checking; call ``db.commit()`` to make changes visible."""
    with sessions() as session:
        yield session


@pytest.fixture
def system() -> Principal:
    """The all-powerful system principal."""
    return Principal.system("tests")


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    """A clock standing at 2026-03-01 12:00 UTC that tests can move."""
    frozen = clock.FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    with clock.use(frozen):
        yield frozen


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an app under test."""
    return Settings(
        database_url="sqlite://",
        secret_key="test-secret-key-not-for-production",
        data_dir=tmp_path,
        idempotency_wait_seconds=10,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine):  # type: ignore[no-untyped-def]
    """The application on the test database."""
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An HTTP client for the app (raising no server exceptions: we check the responses)."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def make(sessions: sessionmaker[Session]) -> factories.Factory:
    """Factories that build realistic test data through the services."""
    return factories.Factory(sessions)


def free_port() -> int:
    """A loopback port free at the moment of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def port() -> int:
    """A loopback port for a server under test, known before its app or settings are made."""
    return free_port()


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served by a real Uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    with uvicorn_serving(app, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on a free loopback port; what it received."""
    box = Inbox(port=free_port())
    box.start()
    yield box
    box.stop()
