"""License keys at rest: a keyed hash to find a license by its key, a sealed copy to show it.

Both keys are derived from the deployment secret with HKDF-SHA256, each with its own ``info``
(so neither equals the other, nor the keyring's or the webhooks' keys). The lookup hash is an
HMAC-SHA256 of the key's canonical form: without the deployment secret, a copy of the table
cannot be matched against guessed keys. The sealed copy is AES-256-GCM bound to the license
id, so it cannot be moved to another license. Changing the deployment secret makes both
unusable: keys would have to be issued again.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from charter.config import Settings, secret_key
from charter.core.errors import CharterError

_SALT = b"charter/licensing"
_LOOKUP_INFO = b"charter license key lookup v1"
_SEAL_INFO = b"charter license key seal v1"
_FORMAT = b"\x01"
_NONCE = 12


class SealedKeyError(CharterError):
    """A license's sealed key cannot be opened (the deployment secret changed, or damage)."""

    status = 500
    slug = "license-key-unavailable"
    title = "License key unavailable"


@functools.lru_cache(maxsize=8)
def _derive(deployment_secret: str, info: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=info)
    return hkdf.derive(deployment_secret.encode("utf-8"))


def lookup_hash(settings: Settings, canonical_key: str) -> str:
    """The hex HMAC-SHA256 a license is found by (``canonical_key`` as normalized)."""
    key = _derive(secret_key(settings), _LOOKUP_INFO)
    return hmac.new(key, canonical_key.encode("ascii"), hashlib.sha256).hexdigest()


def seal(settings: Settings, license_id: str, canonical_key: str) -> bytes:
    """``0x01 ‖ nonce ‖ ciphertext+tag`` of the key, bound to ``license_id``."""
    nonce = os.urandom(_NONCE)
    aead = AESGCM(_derive(secret_key(settings), _SEAL_INFO))
    return _FORMAT + nonce + aead.encrypt(nonce, canonical_key.encode("ascii"), license_id.encode())


def unseal(settings: Settings, license_id: str, blob: bytes) -> str:
    """The key sealed by :func:`seal`; :class:`SealedKeyError` if it will not open."""
    if blob[:1] != _FORMAT or len(blob) < 1 + _NONCE + 16:
        raise SealedKeyError(f"the key of {license_id} is not in a known format")
    aead = AESGCM(_derive(secret_key(settings), _SEAL_INFO))
    try:
        plain = aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], license_id.encode())
    except InvalidTag as error:
        raise SealedKeyError(
            f"the key of {license_id} cannot be opened: wrong secret key, or damaged"
        ) from error
    return plain.decode("ascii")
