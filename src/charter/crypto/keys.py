"""Ed25519 signing keys: generation, Multikey forms, and sealing private keys at rest.

Private keys are stored encrypted with AES-256-GCM under a key-encryption key (KEK) derived
with HKDF-SHA256 from the deployment secret (``CHARTER_SECRET_KEY`` or the generated key file,
see :func:`charter.config.secret_key`). The key id is the associated data, so a sealed blob
cannot be moved to another key's row and still open.
"""

from __future__ import annotations

import os
from typing import ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import OKPKey

from charter.core.errors import CharterError, Invalid
from charter.crypto import multibase

SEALED_FORMAT_V1 = b"\x01"
"""First byte of a sealed key; lets a later format coexist with this one."""
NONCE_LENGTH = 12
KEK_LENGTH = 32
_HKDF_SALT = b"charter/keyring"
_HKDF_INFO = b"charter keyring kek v1"


class KeyringError(CharterError):
    """A sealed private key cannot be opened (wrong secret, wrong key id, or damaged)."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "keyring"
    title: ClassVar[str] = "Signing key unavailable"


def generate_private_key() -> Ed25519PrivateKey:
    """A new random Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_seed(private_key: Ed25519PrivateKey) -> bytes:
    """The 32-byte seed of a private key."""
    return private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def public_key_multibase(public_key: Ed25519PublicKey) -> str:
    """``publicKeyMultibase`` (``z6Mk…``) of a public key."""
    return multibase.encode_multikey_public(raw_public_key(public_key))


def public_key_from_multibase(value: str, *, field: str = "publicKeyMultibase") -> Ed25519PublicKey:
    """The public key in a ``publicKeyMultibase``; non-Ed25519 prefixes are :class:`Invalid`."""
    return Ed25519PublicKey.from_public_bytes(multibase.decode_multikey_public(value, field=field))


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK of a key (RFC 8037): ``{"kty": "OKP", "crv": "Ed25519", "x": …}``."""
    jwk = OKPKey.import_key(public_key).as_dict(private=False)
    return {name: str(jwk[name]) for name in ("kty", "crv", "x")}


def jwk_thumbprint(public_key: Ed25519PublicKey) -> str:
    """The RFC 7638 SHA-256 thumbprint of a key's public JWK, base64url without padding."""
    return OKPKey.import_key(public_key).thumbprint()


def secret_key_multibase(private_key: Ed25519PrivateKey) -> str:
    """``secretKeyMultibase`` (32-byte seed form, ``z3u2…``) of a private key."""
    return multibase.encode_multikey_secret(raw_seed(private_key))


def private_key_from_multibase(
    value: str, *, field: str = "secretKeyMultibase"
) -> Ed25519PrivateKey:
    """The private key in a ``secretKeyMultibase`` (seed or seed‖public form)."""
    seed, public = multibase.decode_multikey_secret(value, field=field)
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    if public is not None and raw_public_key(private_key.public_key()) != public:
        raise Invalid.field(field, "the embedded public key does not match the seed")
    return private_key


def derive_kek(secret: str) -> bytes:
    """The 32-byte key-encryption key derived from the deployment secret (HKDF-SHA256)."""
    if not secret:
        raise ValueError("the secret must not be empty")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEK_LENGTH, salt=_HKDF_SALT, info=_HKDF_INFO)
    return hkdf.derive(secret.encode("utf-8"))


def seal_private_key(private_key: Ed25519PrivateKey, kek: bytes, key_id: str) -> bytes:
    """Encrypt a private key's seed with AES-256-GCM under ``kek``, bound to ``key_id``.

    The blob is ``0x01 ‖ 96-bit random nonce ‖ ciphertext+tag``.
    """
    _check_kek(kek)
    nonce = os.urandom(NONCE_LENGTH)
    sealed = AESGCM(kek).encrypt(nonce, raw_seed(private_key), key_id.encode("utf-8"))
    return SEALED_FORMAT_V1 + nonce + sealed


def open_private_key(blob: bytes, kek: bytes, key_id: str) -> Ed25519PrivateKey:
    """Decrypt a blob made by :func:`seal_private_key`; :class:`KeyringError` if it won't open."""
    _check_kek(kek)
    if len(blob) < 1 + NONCE_LENGTH + 16 or blob[:1] != SEALED_FORMAT_V1:
        raise KeyringError(f"sealed key {key_id} is not in a known format")
    nonce = blob[1 : 1 + NONCE_LENGTH]
    try:
        seed = AESGCM(kek).decrypt(nonce, blob[1 + NONCE_LENGTH :], key_id.encode("utf-8"))
    except InvalidTag as error:
        # One message for every cause: telling them apart would help no one but an attacker.
        raise KeyringError(
            f"sealed key {key_id} cannot be opened: wrong secret key, wrong key id, or damaged"
        ) from error
    return Ed25519PrivateKey.from_private_bytes(seed)


def _check_kek(kek: bytes) -> None:
    if len(kek) != KEK_LENGTH:
        raise ValueError("the key-encryption key must be 32 bytes (use derive_kek)")
