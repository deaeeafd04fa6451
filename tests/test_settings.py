"""Settings: all local state in CHARTER_DATA_DIR, the default database included."""

from __future__ import annotations

from pathlib import Path

from charter.config import Settings


def test_the_default_database_lives_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path / "state"))
    settings = Settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'state' / 'charter.db'}"


def test_the_default_data_dir_is_var(monkeypatch):
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHARTER_DATA_DIR", raising=False)
    assert Settings().database_url == f"sqlite:///{Path('var') / 'charter.db'}"


def test_a_database_url_given_is_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CHARTER_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/charter")
    assert Settings().database_url == "postgresql+psycopg://u@127.0.0.1/charter"
