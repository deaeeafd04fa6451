"""A real SMTP server (aiosmtpd) on a free loopback port, and settings that send to it."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from charter.config import Settings


@dataclass
class Inbox:
    """What the SMTP server received: one parsed message per envelope recipient."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        """Messages addressed to ``address``."""
        return [m for m in self.messages if m["To"] == address]

    def subjects(self, address: str | None = None) -> list[str]:
        found = self.messages if address is None else self.to(address)
        return [str(m["Subject"]) for m in found]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()


def mail_settings(tmp_path: Path, inbox: Inbox, **overrides: Any) -> Settings:
    """The tests' settings, sending mail to ``inbox`` (and ``overrides``)."""
    fields: dict[str, Any] = {
        "database_url": "sqlite://",
        "secret_key": "test-secret-key-not-for-production",
        "data_dir": tmp_path,
        "idempotency_wait_seconds": 10,
        "smtp_host": "127.0.0.1",
        "smtp_port": inbox.port,
        "smtp_starttls": False,
        "mail_from": "Charter Partner Program <program@vendor.example>",
        "public_url": "http://testserver",
        "issuer_name": "Vendor Inc.",
    }
    return Settings(**(fields | overrides))
