"""``charter serve`` runs the app built by ``serve_app``: start-up's objects frozen out of the
garbage collector's reach."""

from __future__ import annotations

import gc

import uvicorn
from typer.testing import CliRunner

from charter.app import serve_app
from charter.cli import main
from charter.config import get_settings


def test_the_served_app_freezes_what_start_up_made(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CHARTER_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CHARTER_SECRET_KEY", "test-secret-key-not-for-production")
    get_settings.cache_clear()
    gc.unfreeze()
    try:
        app = serve_app()
        assert app.title == "Charter"
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        get_settings.cache_clear()


def test_charter_serve_runs_the_served_app(monkeypatch) -> None:
    seen: dict[str, object] = {}

    def run(app: str, **options: object) -> None:
        seen["app"] = app
        seen.update(options)

    monkeypatch.setattr(uvicorn, "run", run)
    result = CliRunner().invoke(main.app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert seen["app"] == "charter.app:serve_app"
    assert seen["factory"] is True
