"""Mail tests send to a real SMTP server (the ``inbox`` fixture of ``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.config import Settings
from tests.mail import Inbox, mail_settings


@pytest.fixture
def settings(tmp_path: Path, inbox: Inbox) -> Settings:
    """The test settings, sending mail to the test SMTP server."""
    return mail_settings(tmp_path, inbox)
