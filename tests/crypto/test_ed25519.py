"""Ed25519 through libsodium: OpenSSL's signatures byte for byte, and strict verification."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.crypto import ed25519

# RFC 8032 §7.1, TEST 3 (a two-byte message).
RFC_SEED = bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")
RFC_PUBLIC = bytes.fromhex("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025")
RFC_MESSAGE = bytes.fromhex("af82")
RFC_SIGNATURE = bytes.fromhex(
    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
    "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
)


def test_the_rfc_8032_vector_signs_and_verifies():
    key = Ed25519PrivateKey.from_private_bytes(RFC_SEED)
    assert key.public_key().public_bytes_raw() == RFC_PUBLIC
    assert ed25519.Signer(key).sign(RFC_MESSAGE) == RFC_SIGNATURE
    public = Ed25519PublicKey.from_public_bytes(RFC_PUBLIC)
    assert ed25519.verify(public, RFC_SIGNATURE, RFC_MESSAGE)


@settings(max_examples=60, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=200))
def test_signatures_are_openssls_byte_for_byte(seed, message):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    signature = ed25519.Signer(key).sign(message)
    assert signature == key.sign(message)
    key.public_key().verify(signature, message)  # and OpenSSL accepts ours
    assert ed25519.verify(key.public_key(), signature, message)


def test_verification_refuses_an_edit_a_wrong_key_and_a_wrong_length():
    key = Ed25519PrivateKey.generate()
    message = os.urandom(64)
    signature = ed25519.Signer(key).sign(message)
    public = key.public_key()
    assert ed25519.verify(public, signature, message)
    for position in (0, 31, 32, 63):
        bad = bytearray(signature)
        bad[position] ^= 0x01
        assert not ed25519.verify(public, bytes(bad), message)
    assert not ed25519.verify(public, signature, message[:-1] + bytes([message[-1] ^ 1]))
    assert not ed25519.verify(Ed25519PrivateKey.generate().public_key(), signature, message)
    assert not ed25519.verify(public, signature[:63], message)
    assert not ed25519.verify(public, signature + b"\0", message)


def test_a_small_order_public_key_is_refused():
    # The identity point as key and R, with S = 0, satisfies the verification equation for
    # every message (OpenSSL 3 accepts it); libsodium refuses keys of small order.
    identity = bytes([1]) + bytes(31)
    public = Ed25519PublicKey.from_public_bytes(identity)
    forged = identity + bytes(32)
    assert not ed25519.verify(public, forged, b"anything")
