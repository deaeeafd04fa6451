"""Endpoint secrets at rest: sealed with AES-256-GCM under a key derived from the deployment
secret (HKDF-SHA256, its own ``info`` so it never equals the signing-key KEK), bound to the
endpoint id as associated data so a sealed secret cannot be moved to another endpoint."""

from __future__ import annotations

import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from charter.config import Settings, secret_key
from charter.core.errors import CharterError

_FORMAT = b"\x01"
_NONCE = 12


class SealError(CharterError):
    """A sealed webhook secret cannot be opened (the deployment secret changed, or damage)."""

    status = 500
    slug = "webhook-secret"
    title = "Webhook secret unavailable"


def _key(settings: Settings) -> bytes:
    return _derive(secret_key(settings))


@functools.lru_cache(maxsize=8)
def _derive(deployment_secret: str) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"charter/webhooks",
        info=b"charter webhook secrets v1",
    )
    return hkdf.derive(deployment_secret.encode("utf-8"))


def seal(settings: Settings, endpoint_id: str, secret: str) -> bytes:
    """``0x01 ‖ nonce ‖ ciphertext+tag`` of ``secret``, bound to ``endpoint_id``."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key(settings)).encrypt(nonce, secret.encode("utf-8"), endpoint_id.encode())
    return _FORMAT + nonce + sealed


def open_cached(settings: Settings, endpoint_id: str, blob: bytes) -> str:
    """The secret sealed by :func:`seal`; :class:`SealError` if it will not open.

    Remembered per deployment secret, endpoint and sealed value (a rotation seals a new
    value, so a cached secret is never a stale one).
    """
    return _opened(secret_key(settings), endpoint_id, blob)


@functools.lru_cache(maxsize=1024)
def _opened(deployment_secret: str, endpoint_id: str, blob: bytes) -> str:
    if blob[:1] != _FORMAT or len(blob) < 1 + _NONCE + 16:
        raise SealError(f"the secret of {endpoint_id} is not in a known format")
    try:
        plain = AESGCM(_derive(deployment_secret)).decrypt(
            blob[1 : 1 + _NONCE], blob[1 + _NONCE :], endpoint_id.encode()
        )
    except InvalidTag as error:
        raise SealError(
            f"the secret of {endpoint_id} cannot be opened: wrong secret key, or damaged"
        ) from error
    return plain.decode("utf-8")
