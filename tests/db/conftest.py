"""Fixtures of the database tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, _postgres_database


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The address of a database with no tables yet, for a migration to start from."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/migrated.db"
    else:
        yield from _postgres_database()
