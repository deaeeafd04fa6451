"""Approvals tests send their notices to a real SMTP server (the notify tests' one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from charter.config import Settings
from tests.conftest import free_port
from tests.mail import Inbox


@pytest.fixture
def smtp_inbox() -> Iterator[Inbox]:
    """A running SMTP server; its received messages."""
    box = Inbox(port=free_port())
    box.start()
    yield box
    box.stop()


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The test settings; sending mail to the test SMTP server when the test has one."""
    smtp = {}
    if "smtp_inbox" in request.fixturenames:
        box: Inbox = request.getfixturevalue("smtp_inbox")
        smtp = {"smtp_host": "127.0.0.1", "smtp_port": box.port, "smtp_starttls": False}
    return Settings(
        database_url="sqlite://",
        secret_key="test-secret-key-not-for-production",
        data_dir=tmp_path,
        idempotency_wait_seconds=10,
        mail_from="Charter Partner Program <program@vendor.example>",
        **smtp,
    )
