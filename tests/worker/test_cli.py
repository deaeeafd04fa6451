"""``charter worker`` in-process: ``--until-idle`` runs the work and exits, ``--status`` shows
the jobs and the dead ones with their last error."""

from __future__ import annotations

import signal

import pytest
from typer.testing import CliRunner

from charter.cli.main import app
from charter.config import get_settings
from charter.worker import jobs, registry
from charter.worker.registry import RetryPolicy, Task


@pytest.fixture
def cli(engine, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CHARTER_SECRET_KEY", "test-secret-key-not-for-production")
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(app, list(args))
    get_settings.cache_clear()


def test_until_idle_runs_the_work_then_exits_and_status_shows_the_dead(cli, sessions, monkeypatch):
    def broken(context, ref):
        raise RuntimeError("the remote system said no")

    monkeypatch.setitem(
        registry._tasks, "test.broken", Task("test.broken", broken, RetryPolicy(max_attempts=1))
    )
    with sessions() as db, db.begin():
        jobs.enqueue(db, "test.broken", "x")
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    result = cli("worker", "--until-idle")

    assert result.exit_code == 0, result.output
    assert "worker stopped (idle)" in result.output
    assert "1 failed" in result.output
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers

    status = cli("worker", "--status")
    assert status.exit_code == 0, status.output
    assert "dead: 1" in status.output
    assert "task:test.broken:x" in status.output
    assert "RuntimeError: the remote system said no" in status.output
