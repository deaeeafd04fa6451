"""The ``charter`` command run in-process against the test database, for tier commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from charter.cli.main import app
from charter.config import get_settings

Invoke = Callable[..., Result]


@pytest.fixture
def cli(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """Run ``charter ARGS...`` on the (emptied) test database; returns Typer's result."""
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    yield invoke
    get_settings.cache_clear()
