"""Templates of what bulk issuance writes per award, filled with its values instead of built.

A batch's credentials of one achievement differ only in a few values (:class:`OpenFields`):
each kind of document is built, checked and analysed once, from a sample holding stand-ins
for them (:class:`Shape`), and every credential of that kind is then its values put into the
JSON text and the canonical template. Likewise the ``credential.issued`` payload's canonical
text is put together from its values (:class:`IssuedText`). Both give exactly the bytes the
general path gives; the tests hold them to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from charter.credentials import documents, fastcanon, ob3, statuslist


class OpenFields(NamedTuple):
    """The values in which a batch's credentials of one achievement differ."""

    url: str
    valid_from: str
    valid_until: str  # empty when the award does not expire
    holder_did: str  # empty when the holder gave none
    identity_hash: str
    salt: str
    entry_id: str
    list_index: str
    list_url: str
    awarded_date: str


_VALID_FROM = datetime(1901, 1, 1, 0, 0, 1, tzinfo=UTC)
_VALID_UNTIL = datetime(1901, 1, 1, 0, 0, 2, tzinfo=UTC)
_AWARDED = datetime(1901, 1, 1, 0, 0, 0, tzinfo=UTC)
STAND_INS = OpenFields(
    url="urn:uuid:00000000-0000-4000-8000-0c0ffee00001",
    valid_from=ob3.format_timestamp(_VALID_FROM),
    valid_until=ob3.format_timestamp(_VALID_UNTIL),
    holder_did="did:web:c0ffee00004.invalid",
    identity_hash=ob3.identity_hash("c0ffee@invalid", "0c0ffee00006"),
    salt="0c0ffee00006",
    entry_id="urn:uuid:00000000-0000-4000-8000-0c0ffee00007",
    list_index="0c0ffee00008",
    list_url="urn:uuid:00000000-0000-4000-8000-0c0ffee00009",
    awarded_date=ob3.format_timestamp(_AWARDED),
)
"""What the sample document holds in place of each open field."""


@dataclass(frozen=True, slots=True)
class Shape:
    """The documents of one achievement (with or without holder DID and end date) in a batch.

    Built, schema-checked, safe-mode checked and analysed once from a sample holding stand-ins
    for the open fields; each credential is then its values put into the JSON text and the
    canonical template. That gives the bytes :func:`documents.build_document` and
    :meth:`BatchSigner.sign` give: the schema constrains the open fields only by being strings
    (and date-times, which ``format_timestamp`` always writes), so the sample's verdict is
    every document's.
    """

    fields: tuple[int, ...]  # the open fields present, as indexes into OpenFields
    pieces: tuple[str, ...]  # the unsigned JSON text around the open fields
    order: tuple[int, ...]  # the open field between each two pieces
    canonical: fastcanon.Template
    context: Any

    def canonical_text(self, values: OpenFields) -> str | None:
        """The canonical (RDFC) text of the document with ``values``; None if it must be
        canonicalized in full."""
        return fastcanon.canonicalize_template(
            self.canonical, [values[index] for index in self.fields]
        )

    def signed_text(self, values: OpenFields, proof: str) -> str:
        """The stored JSON text of the document with ``values`` and its ``proof`` (JSON)."""
        parts: list[str] = [self.pieces[0]]
        for index, piece in zip(self.order, self.pieces[1:], strict=True):
            parts.append(_json_string(values[index]))
            parts.append(piece)
        parts[-1] = parts[-1][:-1]  # the closing brace, which follows the proof
        parts.append(',"proof":')
        parts.append(proof)
        parts.append("}")
        return "".join(parts)


def shape_of(
    issuer: ob3.IssuerProfile,
    achievements: dict[str, ob3.AchievementInfo],
    key: str,
    with_did: bool,
    with_until: bool,
) -> Shape | None:
    """The shape of a kind of document, or None if it must be built one by one."""
    sample_entry = {
        **statuslist.status_entry("https://status.invalid/list", 0, "revocation"),
        "id": STAND_INS.entry_id,
        "statusListIndex": STAND_INS.list_index,
        "statusListCredential": STAND_INS.list_url,
    }
    facts = documents.DocumentFacts(
        "sample",
        STAND_INS.url,
        key,
        "c0ffee@invalid",
        STAND_INS.salt,
        _VALID_FROM,
        _VALID_UNTIL if with_until else None,
        sample_entry,
        STAND_INS.holder_did if with_did else None,
        _AWARDED,
    )
    try:
        sample = documents.build_document(issuer, achievements, facts)
    except documents.Refusal:
        return None
    if ob3.validate_credential(sample):
        return None
    fields = tuple(
        index
        for index, name in enumerate(OpenFields._fields)
        if (name != "valid_until" or with_until) and (name != "holder_did" or with_did)
    )
    canonical = fastcanon.template(sample, [STAND_INS[index] for index in fields])
    if canonical is None:
        return None
    text = documents.serialize(sample)
    found: list[tuple[int, int, int]] = []
    for index in fields:
        escaped = _json_string(STAND_INS[index])
        if text.count(escaped) != 1:
            return None
        start = text.index(escaped)
        found.append((start, start + len(escaped), index))
    found.sort()
    pieces: list[str] = []
    position = 0
    for start, end, _ in found:
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    order = tuple(index for _, _, index in found)
    return Shape(fields, tuple(pieces), order, canonical, sample["@context"])


def _json_string(value: str) -> str:
    """``value`` as it appears inside a JSON string written by :func:`documents.serialize`."""
    # What json.dumps(value, ensure_ascii=False) writes, without its per-call set-up.
    escaped: str = encode_basestring(value)
    return escaped[1:-1]


def cached(cache: dict[Any, Any], value: Any, render: Callable[[Any], Any]) -> Any:
    """``render(value)``, computed once per distinct value kept in ``cache``."""
    if value in cache:
        return cache[value]
    cache[value] = found = render(value)
    return found


@dataclass(slots=True)
class IssuedText:
    """The canonical text of ``credential.issued`` payloads, put together from their values.

    What :func:`charter.core.eventhash.canonical_payload_text` writes for a payload made by
    :func:`charter.credentials.issuance.issued_payload` (keys sorted, compact), without a
    ``json.dumps`` per award: the ids are strings and the index a small integer, and the few
    list ids and dates a batch shares are rendered once. The tests hold the two together.
    """

    verification_method: str
    _lists: dict[str, str] = field(default_factory=dict)
    _dates: dict[tuple[str | None, str | None], str] = field(default_factory=dict)
    _tail: str = ""

    def __post_init__(self) -> None:
        self._tail = ',"verification_method":' + encode_basestring(self.verification_method) + "}"

    def render(self, payload: dict[str, Any]) -> str:
        """The canonical text of ``payload``, whose verification method is this batch's."""
        return "".join(
            (
                '{"award_id":',
                encode_basestring(payload["award_id"]),
                ',"person_id":',
                encode_basestring(payload["person_id"]),
                ',"revocation_index":',
                str(payload["revocation_index"]),
                cached(self._lists, payload["revocation_list_id"], _list_text),
                cached(self._dates, (payload["valid_from"], payload["valid_until"]), _dates_text),
                self._tail,
            )
        )


def _list_text(list_id: str) -> str:
    return ',"revocation_list_id":' + encode_basestring(list_id)


def _dates_text(dates: tuple[str | None, str | None]) -> str:
    valid_from, valid_until = dates
    return "".join(
        (
            ',"valid_from":',
            "null" if valid_from is None else encode_basestring(valid_from),
            ',"valid_until":',
            "null" if valid_until is None else encode_basestring(valid_until),
        )
    )
