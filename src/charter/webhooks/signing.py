"""Webhook signatures: every delivery carries two, made with the same secret.

Standard Webhooks (standardwebhooks.com), so that its libraries verify Charter's deliveries:
``webhook-id`` (the delivery id, the same on every retry), ``webhook-timestamp`` (unix
seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over ``"<id>.<timestamp>.<body>"``,
keyed with the bytes the secret encodes (``whsec_`` then base64 of the key).

Charter's own, kept for the receivers written before: ``Charter-Signature: t=<unix
seconds>,v1=<hex HMAC-SHA256>``, keyed with the secret's text (its UTF-8 bytes, ``whsec_``
included) over ``"<t>." + body``.

While a rotated secret is still honoured, each header carries one signature per secret, newest
first (space-separated in ``webhook-signature``, one ``v1=`` each in ``Charter-Signature``).

Secrets are ``whsec_`` and standard base64 of 32 random bytes. Secrets issued before Charter
sent Standard Webhooks headers are ``whsec_`` and 43 characters of URL-safe base64 (``-`` and
``_`` where the standard alphabet has ``+`` and ``/``, no ``=``); their key is what those
characters encode, so :func:`key_bytes` reads either alphabet and :func:`standard_secret`
writes any secret the way Standard Webhooks libraries take it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that marks secrets, not one
SECRET_BYTES = 32
DEFAULT_TOLERANCE_SECONDS = 300
# Secrets issued before the standard headers were written in the URL-safe alphabet.
_URL_SAFE_TO_STANDARD = str.maketrans("-_", "+/")


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` and the base64 of 256 random bits."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def key_bytes(secret: str) -> bytes:
    """The HMAC key of the Standard Webhooks signature: the bytes ``secret`` encodes.

    Either base64 alphabet is read (older secrets are URL-safe, unpadded); :class:`ValueError`
    if ``secret`` is not ``whsec_`` and base64 of at least one byte.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX}")
    encoded = secret[len(SECRET_PREFIX) :].translate(_URL_SAFE_TO_STANDARD).rstrip("=")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as error:
        raise ValueError("a webhook secret is whsec_ and base64") from error
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def standard_secret(secret: str) -> str:
    """``secret`` as Standard Webhooks libraries take it (new secrets are that already)."""
    return SECRET_PREFIX + base64.b64encode(key_bytes(secret)).decode("ascii")


def mac(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``'s text."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secrets_in_use: list[str], timestamp: int, body: bytes) -> str:
    """The ``Charter-Signature`` value for ``body`` sent at ``timestamp``."""
    parts = [f"t={timestamp}"] + [f"v1={mac(secret, timestamp, body)}" for secret in secrets_in_use]
    return ",".join(parts)


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One Standard Webhooks signature: ``v1,`` and the base64 HMAC-SHA256 of the message."""
    message = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_bytes(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(
    secrets_in_use: list[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every signing header of one request: Standard Webhooks' three and ``Charter-Signature``.

    ``message_id`` must be the same on every attempt of one delivery (receivers drop repeats by
    it); ``timestamp`` is the moment of this attempt.
    """
    signatures = [standard_signature(s, message_id, timestamp, body) for s in secrets_in_use]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
        "Charter-Signature": signature_header(secrets_in_use, timestamp, body),
    }


def verify(
    header: str,
    body: bytes,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether the ``Charter-Signature`` ``header`` signs ``body`` with ``secret`` within
    ``tolerance`` seconds of now: what a receiver does, and what the README shows."""
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
