"""The ``charter`` command run in-process against the test database, for tier commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from charter.accounts import service as accounts
from charter.cli.main import app
from charter.config import Settings, get_settings
from charter.core.auth import Principal, Role

Invoke = Callable[..., Result]


@pytest.fixture
def cli(
    engine: Engine,
    database_url: str,
    settings: Settings,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Invoke]:
    """Run ``charter ARGS...`` on the (emptied) test database as an admin; Typer's result.

    With the tests' secret key, as a deployment's CLI shares the server's: revoking a badge
    signs its status list anew, with the key the tests' issuance sealed.
    """
    with sessions() as db, db.begin():
        operator = accounts.create_user(
            db,
            Principal.system("tests"),
            email="tier.operator@example.com",
            display_name="Tier Operator",
            role=Role.ADMIN,
            password=None,
        )
    monkeypatch.setenv("CHARTER_OPERATOR", operator.email)
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CHARTER_SECRET_KEY", settings.secret_key or "")
    monkeypatch.setenv("CHARTER_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    yield invoke
    get_settings.cache_clear()
