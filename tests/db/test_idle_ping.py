"""PostgreSQL connections are checked before use when idle a while, not before every request."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from charter.db import engine as engines
from tests.conftest import POSTGRES_ADMIN_URL


@pytest.fixture
def pg(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the idle check is PostgreSQL's (SQLite opens a file per session)")
    engine = engines.make_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _pid(engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _pings(engine, monkeypatch) -> list[object]:
    seen: list[object] = []
    ping = engine.dialect.do_ping

    def counted(connection):
        seen.append(connection)
        return ping(connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return seen


def test_a_connection_used_moments_ago_is_not_pinged(pg, monkeypatch):
    pings = _pings(pg, monkeypatch)
    first = _pid(pg)
    assert [_pid(pg) for _ in range(5)] == [first] * 5
    assert pings == []


def test_an_idle_connection_the_server_closed_is_replaced_before_use(pg, monkeypatch):
    first = _pid(pg)
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    finally:
        admin.dispose()
    monkeypatch.setattr(engines, "PING_AFTER_IDLE", 0.0)  # as if it had been idle a while
    pings = _pings(pg, monkeypatch)
    assert _pid(pg) != first  # no error: the dead connection was found and replaced
    assert len(pings) >= 1
