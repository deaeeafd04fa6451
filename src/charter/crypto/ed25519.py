"""Ed25519 signing and verification of proofs, through libsodium.

Keys stay ``cryptography`` objects: that library generates, seals, loads and serializes them.
The signatures themselves go through libsodium (PyNaCl), which signs and verifies in about
60% of OpenSSL's time on x86-64, and signatures are on every issuance's and every
verification's path. Ed25519 signing is deterministic (RFC 8032), so the signature is the one
OpenSSL would make, byte for byte.

libsodium's verification is the stricter of the two: besides ``S < L`` it refuses public keys
and ``R`` values of small order, which no honest signer produces.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_sign, crypto_sign_open
from nacl.exceptions import BadSignatureError

SIGNATURE_LENGTH = 64


class Signer:
    """Signs with one private key (holding libsodium's form of it, seed and public key)."""

    __slots__ = ("_secret",)

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        # libsodium's secret key is the seed followed by the public key, which it uses as
        # given: taken from the key object rather than derived again.
        self._secret = private_key.private_bytes_raw() + private_key.public_key().public_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        """The 64-byte signature of ``message``."""
        return crypto_sign(message, self._secret)[:SIGNATURE_LENGTH]


def verify(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is ``public_key``'s signature of ``message``."""
    if len(signature) != SIGNATURE_LENGTH:
        return False
    try:
        crypto_sign_open(signature + message, public_key.public_bytes_raw())
    except BadSignatureError:
        return False
    return True
