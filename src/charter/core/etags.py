"""Entity tags (RFC 9110 §8.8.3): strong tags for stored bytes, and ``If-None-Match`` read as
RFC 9110 §13.1.2 says (weak comparison, a list of tags, or ``*``)."""

from __future__ import annotations

import hashlib
import re

# An entity-tag: optionally W/, then a quoted string without quotes; or "*".
_TAG = re.compile(r'\*|(?:W/)?"[^"]*"')


def strong_etag(*parts: bytes) -> str:
    """A strong entity tag for a representation made of ``parts``: a quoted SHA-256 prefix."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return '"' + digest.hexdigest()[:32] + '"'


def none_match(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match: header`` names ``etag`` (or is ``*``): the client has it."""
    if not header:
        return False
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in _TAG.findall(header))
