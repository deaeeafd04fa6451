"""The ``charter`` command run in-process against the test database, for tier commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from charter.cli.main import app
from charter.config import Settings, get_settings

Invoke = Callable[..., Result]


@pytest.fixture
def cli(
    engine: Engine, database_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Invoke]:
    """Run ``charter ARGS...`` on the (emptied) test database; returns Typer's result.

    With the tests' secret key, as a deployment's CLI shares the server's: revoking a badge
    signs its status list anew, with the key the tests' issuance sealed.
    """
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CHARTER_SECRET_KEY", settings.secret_key or "")
    monkeypatch.setenv("CHARTER_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    yield invoke
    get_settings.cache_clear()
