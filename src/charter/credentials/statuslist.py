"""W3C Bitstring Status List v1.0: the bitstring, its encodedList form, and the list documents.

Pure: no database, no clock; randomness comes in as an argument.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import gzip
import random
import re
import zlib
from datetime import datetime
from typing import Any, Literal

from charter.credentials.ob3 import VC_V2_CONTEXT, format_timestamp

# The spec's minimumNumberOfEntries (16 KiB of bits): smaller lists let observers narrow down
# which credential a verifier is checking, and conforming validators reject them.
MIN_ENTRIES = 131_072

# Decompressed lists larger than this are refused so a hostile list cannot exhaust memory.
MAX_DECODED_BYTES = 16 * 1024 * 1024

StatusPurpose = Literal["revocation", "suspension"]
PURPOSES: tuple[str, ...] = ("revocation", "suspension")

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class StatusListError(ValueError):
    """An encodedList that is not 'u' + base64url(gzip(bits)), or an index outside the list."""


class StatusBits:
    """A mutable bitstring, MSB-first: index i is bit 0x80 >> (i % 8) of byte i // 8."""

    __slots__ = ("_data",)

    def __init__(self, size: int = MIN_ENTRIES) -> None:
        if size < MIN_ENTRIES or size % 8:
            raise StatusListError(
                f"a status list needs a multiple of 8 entries, at least {MIN_ENTRIES}"
            )
        self._data = bytearray(size // 8)

    @classmethod
    def from_bytes(cls, data: bytes, *, allow_short: bool = False) -> StatusBits:
        """Wrap decoded list bytes; lists below the spec minimum only with ``allow_short``."""
        if not allow_short and len(data) * 8 < MIN_ENTRIES:
            raise StatusListError(
                f"status list has {len(data) * 8} entries, the minimum is {MIN_ENTRIES}"
            )
        bits = cls.__new__(cls)
        bits._data = bytearray(data)
        return bits

    def __len__(self) -> int:
        return len(self._data) * 8

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self):
            raise StatusListError(f"status index {index} is outside the list (0..{len(self) - 1})")
        return index // 8, 0x80 >> (index % 8)

    def get(self, index: int) -> bool:
        """Return whether the bit at ``index`` is set."""
        byte, mask = self._locate(index)
        return bool(self._data[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        """Set (or clear, with ``value=False``) the bit at ``index``."""
        byte, mask = self._locate(index)
        if value:
            self._data[byte] |= mask
        else:
            self._data[byte] &= ~mask & 0xFF

    def set_indexes(self) -> builtins.set[int]:
        """Return every index whose bit is set."""
        found: builtins.set[int] = builtins.set()
        for byte_index, byte in enumerate(self._data):
            if byte:
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        found.add(byte_index * 8 + bit)
        return found

    def to_bytes(self) -> bytes:
        """Return the raw bitstring bytes."""
        return bytes(self._data)


def encode(bits: StatusBits) -> str:
    """Return the encodedList: 'u' + base64url without padding of GZIP(bits)."""
    # mtime=0 makes the output deterministic, so re-publishing an unchanged list is a no-op.
    compressed = gzip.compress(bits.to_bytes(), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode(encoded: str) -> bytes:
    """Decode an encodedList into the raw bitstring bytes, refusing malformed input."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be a multibase base64url string starting with 'u'")
    body = encoded[1:]
    if not body or not _BASE64URL.match(body) or len(body) % 4 == 1:
        raise StatusListError("encodedList is not valid base64url")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StatusListError("encodedList is not valid base64url") from exc
    try:
        # wbits=16+MAX_WBITS: accept only a GZIP wrapper, as the spec requires.
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = decompressor.decompress(compressed, MAX_DECODED_BYTES)
        if decompressor.unconsumed_tail:
            raise StatusListError("encodedList is larger than Charter accepts")
        data += decompressor.flush()
    except zlib.error as exc:
        raise StatusListError("encodedList is not GZIP-compressed data") from exc
    if not decompressor.eof:
        raise StatusListError("encodedList GZIP data is truncated")
    return data


def random_free_index(used: set[int], size: int, rng: random.Random) -> int:
    """Pick a uniformly random index in ``[0, size)`` not in ``used``."""
    if len(used) >= size:
        raise StatusListError("the status list is full")
    # Rejection sampling is fast while the list is sparse, which is the normal case; fall back
    # to an exact draw once it is more than half full.
    if len(used) < size // 2:
        while True:
            candidate = rng.randrange(size)
            if candidate not in used:
                return candidate
    free = [index for index in range(size) if index not in used]
    return rng.choice(free)


def status_list_credential(
    *,
    list_url: str,
    issuer_id: str,
    purpose: StatusPurpose,
    encoded_list: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """Build an unsigned BitstringStatusListCredential published at ``list_url``."""
    if purpose not in PURPOSES:
        raise ValueError(f"status purpose must be one of {', '.join(PURPOSES)}")
    decode(encoded_list)  # refuse to publish a list no verifier could read
    document: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id,
        "validFrom": format_timestamp(valid_from),
    }
    if valid_until is not None:
        document["validUntil"] = format_timestamp(valid_until)
    document["credentialSubject"] = {
        "id": f"{list_url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": encoded_list,
    }
    return document


def entry_id(list_url: str, index: int) -> str:
    """The id of a list position's entry."""
    # The spec forbids the entry id from equalling the list URL; a fragment keeps it unique.
    return f"{list_url}#{index}"


def status_entry(list_url: str, index: int, purpose: StatusPurpose) -> dict[str, str]:
    """Build the BitstringStatusListEntry a credential carries for one list position."""
    if purpose not in PURPOSES:
        raise ValueError(f"status purpose must be one of {', '.join(PURPOSES)}")
    if index < 0:
        raise ValueError("status index must not be negative")
    return {
        "id": entry_id(list_url, index),
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }
