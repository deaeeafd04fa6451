"""Webhook tests: a real receiver, and settings that allow calling it on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from charter.config import Settings
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running HTTP receiver."""
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings that may call private (loopback) addresses."""
    return Settings(
        database_url="sqlite://",
        secret_key="test-secret-key-not-for-production",
        data_dir=tmp_path,
        idempotency_wait_seconds=10,
        webhook_allow_private=True,
        webhook_timeout_seconds=5,
    )
