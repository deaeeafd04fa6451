"""Fixtures of the credentials tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def issuing(db, settings):
    """The test session signs with the test settings (as the app's sessions do)."""
    db.info["settings"] = settings
    return settings
