"""Multibase (base58btc, ``z`` prefix) and the Multikey encodings of Ed25519 keys.

Pure functions over bytes and strings; see W3C Controlled Identifiers §Multikey and
vc-di-eddsa §2.1.1. Only Ed25519 is accepted: any other multicodec prefix is refused, as the
specification requires.
"""

from __future__ import annotations

import base58

from charter.core.errors import Invalid

BASE58BTC_PREFIX = "z"
ED25519_PUB_PREFIX = b"\xed\x01"
"""Multicodec ``ed25519-pub`` as a varint."""
ED25519_PRIV_PREFIX = b"\x80\x26"
"""Multicodec ``ed25519-priv`` as a varint."""
ED25519_PUBLIC_KEY_LENGTH = 32
ED25519_SEED_LENGTH = 32


_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]  # two digits, 0..58**2-1
_PAIR = 58**2
_CHUNK = _PAIR**5  # ten digits


def encode_base58btc(data: bytes) -> str:
    """Multibase-encode bytes as base58btc (``z`` + base58 with the Bitcoin alphabet)."""
    # As base58.b58encode, ten digits per long division instead of one (every proof value
    # goes through here): a leading "1" per leading zero byte, then the number's digits.
    stripped = data.lstrip(b"\0")
    value = int.from_bytes(stripped, "big")
    parts: list[str] = []
    while value:
        value, chunk = divmod(value, _CHUNK)
        rest, fifth = divmod(chunk, _PAIR)
        rest, fourth = divmod(rest, _PAIR)
        rest, third = divmod(rest, _PAIR)
        first, second = divmod(rest, _PAIR)
        parts.append(
            _PAIRS[first] + _PAIRS[second] + _PAIRS[third] + _PAIRS[fourth] + _PAIRS[fifth]
        )
    parts.reverse()
    digits = "".join(parts).lstrip("1")
    return BASE58BTC_PREFIX + "1" * (len(data) - len(stripped)) + digits


def decode_base58btc(value: str, *, field: str = "multibase") -> bytes:
    """Decode a base58btc multibase string; anything else is :class:`Invalid` naming ``field``."""
    if not isinstance(value, str) or not value.startswith(BASE58BTC_PREFIX) or len(value) < 2:
        raise Invalid.field(field, "must be a base58btc multibase string starting with 'z'")
    try:
        return bytes(base58.b58decode(value[1:]))
    except ValueError as error:
        raise Invalid.field(field, "is not valid base58btc") from error


def encode_multikey_public(raw: bytes) -> str:
    """``publicKeyMultibase`` of a 32-byte Ed25519 public key (starts with ``z6Mk``)."""
    if len(raw) != ED25519_PUBLIC_KEY_LENGTH:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return encode_base58btc(ED25519_PUB_PREFIX + raw)


def decode_multikey_public(value: str, *, field: str = "publicKeyMultibase") -> bytes:
    """The 32 raw bytes of an Ed25519 ``publicKeyMultibase``; other key types are refused."""
    data = decode_base58btc(value, field=field)
    if not data.startswith(ED25519_PUB_PREFIX):
        raise Invalid.field(field, "is not an Ed25519 Multikey (expected multicodec 0xed01)")
    raw = data[len(ED25519_PUB_PREFIX) :]
    if len(raw) != ED25519_PUBLIC_KEY_LENGTH:
        raise Invalid.field(field, f"an Ed25519 public key is 32 bytes, not {len(raw)}")
    return raw


def encode_multikey_secret(seed: bytes) -> str:
    """``secretKeyMultibase`` of a 32-byte Ed25519 seed (the W3C form, starts with ``z3u2``)."""
    if len(seed) != ED25519_SEED_LENGTH:
        raise ValueError("an Ed25519 seed is 32 bytes")
    return encode_base58btc(ED25519_PRIV_PREFIX + seed)


def decode_multikey_secret(
    value: str, *, field: str = "secretKeyMultibase"
) -> tuple[bytes, bytes | None]:
    """``(seed, public or None)`` from a ``secretKeyMultibase``.

    Two forms exist: the 32-byte seed (W3C vectors) and 64 bytes seed‖public (the 1EdTech
    vector and older Digital Bazaar keys); the second also carries the public key.
    """
    data = decode_base58btc(value, field=field)
    if not data.startswith(ED25519_PRIV_PREFIX):
        raise Invalid.field(field, "is not an Ed25519 secret Multikey (expected 0x8026)")
    raw = data[len(ED25519_PRIV_PREFIX) :]
    if len(raw) == ED25519_SEED_LENGTH:
        return raw, None
    if len(raw) == ED25519_SEED_LENGTH + ED25519_PUBLIC_KEY_LENGTH:
        return raw[:ED25519_SEED_LENGTH], raw[ED25519_SEED_LENGTH:]
    raise Invalid.field(field, f"an Ed25519 secret key is 32 or 64 bytes, not {len(raw)}")
