"""How reading requests use the database: one transaction each, and no thread where none helps."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from charter.accounts import service as accounts
from charter.core import eventverify
from charter.core.auth import Role
from tests.factories import Factory


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def transactions(engine: Engine) -> Iterator[list[str]]:
    """The transactions begun on the engine while the test runs."""
    begun: list[str] = []

    def on_begin(connection: object) -> None:
        begun.append("begin")

    event.listen(engine, "begin", on_begin)
    yield begun
    event.remove(engine, "begin", on_begin)


def test_a_read_looks_its_caller_up_then_reads_and_once_kept_costs_nothing(
    client, make: Factory, transactions, backend: str
):
    login = make.login(Role.ADMIN)
    transactions.clear()

    first = client.get("/api/v1/users/me", headers=login.headers)

    assert first.status_code == 200, first.text
    assert first.json()["id"] == login.user.id
    # The caller's lookup, then the route's own read: each short, neither holding a lock.
    assert len(transactions) == 2
    transactions.clear()

    again = client.get("/api/v1/users/me", headers=login.headers)

    assert again.json() == first.json()
    # SQLite tells at no cost that nothing was committed since: the caller and the answer are
    # kept. PostgreSQL keeps them only where a server listens for change notices (none here).
    assert len(transactions) == (0 if backend == "sqlite" else 2)


def test_a_write_checks_its_caller_before_its_transaction_begins(
    client, make: Factory, transactions
):
    login = make.login(Role.ADMIN)
    transactions.clear()

    response = client.post("/api/v1/api-keys", headers=login.headers, json={"name": "second key"})

    assert response.status_code == 201, response.text
    # The caller's lookup reads; the route's own transaction then writes.
    assert len(transactions) == 2


def test_short_reads_run_on_the_event_loop_only_on_sqlite(
    client, make: Factory, backend: str, monkeypatch
):
    login = make.login(Role.ADMIN)
    where: list[bool] = []
    get_user = accounts.get_user

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        where.append(_on_event_loop())
        return get_user(*args, **kwargs)

    monkeypatch.setattr(accounts, "get_user", spy)

    assert client.get("/api/v1/users/me", headers=login.headers).status_code == 200
    assert where == [backend == "sqlite"]


def test_reads_that_walk_a_whole_table_keep_their_thread(client, make: Factory, monkeypatch):
    login = make.login(Role.ADMIN)
    where: list[bool] = []
    verify_chain = eventverify.verify_chain

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        where.append(_on_event_loop())
        return verify_chain(*args, **kwargs)

    monkeypatch.setattr(eventverify, "verify_chain", spy)

    response = client.get("/api/v1/events/verify", headers=login.headers)

    assert response.status_code == 200, response.text
    assert where == [False]
