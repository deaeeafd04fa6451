"""Prefixed opaque ids: ``prt_01J9Z3...``.

The body is a ULID-like value (48-bit millisecond time + 80 random bits, Crockford base32) so
ids sort by creation time, which keyset pagination relies on, and a log line says what an id
refers to by its prefix.
"""

from __future__ import annotations

import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BODY = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")

PREFIXES = {
    "usr": "user",
    "key": "API key",
    "ses": "portal sign-in session",
    "hsl": "holder sign-in link",
    "hss": "holder session",
    "thr": "sign-in throttle",
    "prt": "partner",
    "per": "person",
    "pem": "person email",
    "emp": "employment",
    "inv": "invitation",
    "crt": "certification",
    "crv": "criteria version",
    "asm": "assessment",
    "awd": "award",
    "evt": "event",
    "ckp": "events log checkpoint",
    "imp": "import",
    "sgk": "signing key",
    "bdg": "issued credential (badge)",
    "stl": "status list",
    "tsc": "tier scheme",
    "trk": "track record",
    "tbg": "firm tier badge",
    "trm": "termination",
    "job": "worker job",
    "eml": "email message",
    "whk": "webhook endpoint",
    "whd": "webhook delivery",
    "apr": "approval request",
    "prd": "product",
    "agt": "agreement template",
    "agv": "agreement template version",
    "agr": "signed agreement",
    "lic": "license",
    "act": "license activation",
    "alr": "license alert",
    "usg": "usage record",
}


# Two base32 characters per 10 bits, looked up rather than computed: ids are made per row in
# bulk imports, so this is on a hot path.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_SHIFTS = tuple(range(120, -1, -10))


_last = 0
_last_lock = threading.Lock()


def new_id(prefix: str) -> str:
    """A fresh id with the given type prefix.

    Ids made by one process sort in the order they were made, within a millisecond too (as
    ULIDs' monotonic mode does: an id made in the same millisecond as the last one, or
    drawing a smaller random part, is the last one plus one). Otherwise rows made in one
    millisecond, say in a loop, would list out of their creation order.
    """
    global _last  # noqa: PLW0603 - the one value all threads share, under its lock
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = time.time_ns() // 1_000_000
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    with _last_lock:
        if value <= _last:
            value = _last + 1
        _last = value
    return prefix + "_" + "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])


def is_id(value: str, prefix: str) -> bool:
    """Whether ``value`` is well-formed id of type ``prefix``."""
    head, sep, body = value.partition("_")
    return sep == "_" and head == prefix and bool(_BODY.match(body))
