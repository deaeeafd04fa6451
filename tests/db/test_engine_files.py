"""The SQLite database Charter creates is its owner's alone to read."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from charter.db.engine import make_engine


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The usual umask (022), under which files are created world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
def test_database_and_its_wal_files_are_created_for_the_owner_alone(tmp_path):
    path = tmp_path / "state" / "charter.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            connection.commit()
            wal = Path(f"{path}-wal")
            shm = Path(f"{path}-shm")
            assert wal.exists()
            assert shm.exists()
            assert {_mode(file) for file in (path, wal, shm)} == {0o600}
    finally:
        engine.dispose()
    assert _mode(path.parent) == 0o700


@pytest.mark.usefixtures("permissive_umask")
def test_an_existing_database_keeps_its_data(tmp_path):
    path = tmp_path / "charter.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (7)"))
    engine.dispose()
    again = make_engine(f"sqlite:///{path}")
    with again.connect() as connection:
        assert connection.scalar(text("SELECT x FROM t")) == 7
    again.dispose()
