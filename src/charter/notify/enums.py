"""The notify domain's named values: where an email stands.

Apart from the tables so that code that only reads a status needs no ORM.
"""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    """Where an email stands."""

    PENDING = "pending"  # queued; the worker sends it
    SENT = "sent"  # the SMTP server accepted it
    SKIPPED = "skipped"  # not sent on purpose: unsubscribed, no address, mail not configured
    FAILED = "failed"  # gave up after retries; ``last_error`` says why
