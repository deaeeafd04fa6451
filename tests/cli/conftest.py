"""The ``charter`` command run in-process against the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from charter.accounts import service as accounts
from charter.accounts.models import User
from charter.cli.main import app
from charter.config import get_settings
from charter.core.auth import Principal, Role

Invoke = Callable[..., Result]


@pytest.fixture
def operator(engine: Engine, sessions: sessionmaker[Session]) -> User:
    """The admin the CLI acts as (``CHARTER_OPERATOR``): the first entry of the events log."""
    with sessions() as db, db.begin():
        return accounts.create_user(
            db,
            Principal.system("tests"),
            email="operator@example.com",
            display_name="Olive Operator",
            role=Role.ADMIN,
            password="correct horse battery staple",
        )


@pytest.fixture
def cli(
    engine: Engine, database_url: str, operator: User, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Invoke]:
    """Run ``charter ARGS...`` on the (emptied) test database as ``operator``; Typer's result."""
    monkeypatch.setenv("CHARTER_OPERATOR", operator.email)
    yield from _invoker(database_url, monkeypatch)


@pytest.fixture
def bare_cli(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Invoke]:
    """Run ``charter ARGS...`` on the emptied test database: no user, no operator named."""
    monkeypatch.delenv("CHARTER_OPERATOR", raising=False)
    yield from _invoker(database_url, monkeypatch)


def _invoker(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[str, list[str]], Path]:
    """Write lines (header first) to a CSV file in a temporary folder."""

    def write(name: str, lines: list[str]) -> Path:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write
