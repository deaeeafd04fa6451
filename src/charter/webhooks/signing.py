"""Webhook signatures: ``Charter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The MAC is HMAC-SHA256, keyed with the endpoint's secret (its UTF-8 bytes, ``whsec_...``
included), over ``"<t>." + body``: the exact bytes of the request body, preceded by the
timestamp and a dot. While a rotated secret is still honoured, the header carries one ``v1``
per secret, newest first. :func:`verify` is what a receiver does, and what the README shows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that marks secrets, not one
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh endpoint secret (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def mac(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secrets_in_use: list[str], timestamp: int, body: bytes) -> str:
    """The ``Charter-Signature`` value for ``body`` sent at ``timestamp``."""
    parts = [f"t={timestamp}"] + [f"v1={mac(secret, timestamp, body)}" for secret in secrets_in_use]
    return ",".join(parts)


def verify(
    header: str,
    body: bytes,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of now."""
    timestamp = None
    candidates = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
