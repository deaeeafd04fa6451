"""How an events log entry is rendered and hashed: payloads as plain JSON, RFC 8785 canonical
JSON, and the SHA-256 that chains each entry to the one before it.

Each entry's hash covers its own fields and the previous entry's hash, so altering, removing or
reordering any entry breaks the chain from that point on. Pure functions: nothing here reads
or writes the log. The hot paths render the canonical text with the standard library where it
writes exactly what RFC 8785 does, and put an entry's text together around its payload's (see
:func:`text_parts`); everything else takes the reference implementation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring
from typing import Any

import rfc8785

from charter.core import clock
from charter.core.auth import Principal

GENESIS_HASH = "0" * 64
"""The previous hash of the first entry."""

HASHED_FIELDS = (
    "seq",
    "id",
    "occurred_at",
    "actor_type",
    "actor_id",
    "type",
    "subject_type",
    "subject_id",
    "partner_id",
    "payload",
    "prev_hash",
)

MAX_EXACT_INT = 2**53
"""Integers at or past this size are not exact JSON numbers: they take the reference path."""


def json_time(value: datetime) -> str:
    """A datetime as event payloads hold it: ISO 8601 in UTC, ``Z`` for the offset."""
    return clock.ensure_utc(value).isoformat().replace("+00:00", "Z")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return json_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in an event payload")


def hashed_timestamp(value: datetime) -> str:
    """An entry's ``occurred_at`` as its hash covers it (microseconds, UTC)."""
    return clock.ensure_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_plain(value: Any) -> bool:
    """Whether ``json.dumps`` renders ``value`` exactly as RFC 8785 does.

    That holds for strings, booleans, null, integers that JSON numbers represent exactly, and
    objects whose keys are ASCII (so code-point order equals RFC 8785's UTF-16 order). Floats
    and anything else take the reference implementation.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-MAX_EXACT_INT < value < MAX_EXACT_INT)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            # Flat payloads of strings and small integers are the common case: no call.
            kind = type(item)
            if kind is str or item is None:
                continue
            if kind is int and -MAX_EXACT_INT < item < MAX_EXACT_INT:
                continue
            if not is_plain(item):
                return False
        return True
    if kind is list:
        return all(is_plain(item) for item in value)
    return False


def canonical_json(document: Mapping[str, Any], *, plain: bool | None = None) -> bytes:
    """RFC 8785 (JCS) canonical JSON, through the standard library when that is exact."""
    if plain if plain is not None else is_plain(document):
        try:
            text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let the reference implementation decide
            pass
    return rfc8785.dumps(document)


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 over the RFC 8785 canonical JSON of an entry and its predecessor's hash."""
    document: dict[str, Any] = {name: entry[name] for name in HASHED_FIELDS}
    document["occurred_at"] = hashed_timestamp(entry["occurred_at"])
    # The other fields are ids, names and a small sequence number: only the payload can hold
    # values the standard library would render differently.
    plain = is_plain(document["payload"]) and 0 < document["seq"] < MAX_EXACT_INT
    return hashlib.sha256(canonical_json(document, plain=plain)).hexdigest()


# The payload as the standard library writes it: compact, and sorted for the canonical form.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# A string as JSON text, as json.dumps(..., ensure_ascii=False) writes it.
_string: Callable[[str], str] = encode_basestring


def compact_payload_text(payload: Mapping[str, Any]) -> str:
    """A payload of plain JSON values as the log stores it when its entry is hashed the
    general way (compact, keys in their order)."""
    return _COMPACT.encode(payload)


def canonical_payload_text(payload: dict[str, Any]) -> str | None:
    """The canonical text of a payload of plain JSON values, for ``Draft.payload_text``;
    None when the standard library would not write it exactly (leave the field unset then)."""
    return _CANONICAL.encode(payload) if type(payload) is dict and is_plain(payload) else None


def payload_and_text(payload: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The payload as plain JSON values, and its canonical text when the standard library
    writes it exactly (None otherwise: the entry is hashed the general way)."""
    if type(payload) is dict and is_plain(payload):
        return payload, _CANONICAL.encode(payload)
    normalized: dict[str, Any] = json.loads(json.dumps(payload, default=_json_default))
    if is_plain(normalized):
        return normalized, _CANONICAL.encode(normalized)
    return normalized, None


@dataclass(frozen=True, slots=True)
class SharedText:
    """The canonical text of the fields every entry of a batch shares."""

    actor: str  # '{"actor_id":...,"actor_type":...,"id":'; empty if not plain strings
    occurred_at: str  # ',"occurred_at":...,"partner_id":'

    @classmethod
    def of(cls, actor: Principal, stamp: str) -> SharedText:
        """The shared text of entries by ``actor`` at ``stamp`` (a :func:`hashed_timestamp`)."""
        kind, actor_id = actor.kind, actor.id
        plain = type(kind) is str and (actor_id is None or type(actor_id) is str)
        return cls(
            f'{{"actor_id":{_CANONICAL.encode(actor_id)},"actor_type":{_string(kind)},"id":'
            if plain
            else "",
            f',"occurred_at":{_string(stamp)},"partner_id":',
        )


def text_parts(
    shared: SharedText,
    identity: Any,
    partner_id: Any,
    payload_text: str,
    subject_id: Any,
    subject_type: Any,
    kind: Any,
) -> tuple[bytes, bytes] | None:
    """What :func:`entry_hash` hashes, before the previous hash and after the sequence number.

    The fields in RFC 8785 order (sorted keys; all ASCII names) around the canonical payload
    text, so ``json.dumps`` runs once per entry, on the payload alone. Everything but those two
    is known before the entry takes its place in the chain, so it is rendered where the event
    is made. None when a value is not a plain string: the general path.
    """
    if not (
        shared.actor
        and type(identity) is str
        and (partner_id is None or type(partner_id) is str)
        and type(kind) is str
        and type(subject_type) is str
        and type(subject_id) is str
    ):
        return None
    head = "".join(
        (
            shared.actor,
            _string(identity),
            shared.occurred_at,
            "null" if partner_id is None else _string(partner_id),
            ',"payload":',
            payload_text,
            ',"prev_hash":',
        )
    )
    tail = "".join(
        (
            ',"subject_id":',
            _string(subject_id),
            ',"subject_type":',
            _string(subject_type),
            ',"type":',
            _string(kind),
            "}",
        )
    )
    try:
        return head.encode("utf-8"), tail.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: let the reference implementation decide
        return None


def chained_text(head: bytes, tail: bytes, prev: str, seq: int) -> bytes:
    """The full hashed text of an entry from its :func:`text_parts`, once it has its place."""
    return b"".join(
        (head, _string(prev).encode("utf-8"), b',"seq":', str(seq).encode("ascii"), tail)
    )
