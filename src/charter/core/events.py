"""The events log: every state change, appended and chained by SHA-256.

Each entry's hash covers its own fields and the previous entry's hash, so altering, removing
or reordering any entry breaks the chain from that point on; :func:`verify_chain` names the
first entry at fault. Appends take a row lock on the chain head, which serializes writers
across processes on PostgreSQL (SQLite serializes writers by itself), so the chain stays
linear however many processes write at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring
from typing import Any, Protocol

import rfc8785
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.core.ids import new_id
from charter.core.models import Event, EventChainHead

GENESIS_HASH = "0" * 64
HEAD_ID = 1


class Subject(Protocol):
    """Anything with an id can be the subject of an event."""

    id: str


@dataclass(frozen=True, slots=True)
class Draft:
    """An event waiting to be appended (used for batches)."""

    type: str
    subject_type: str
    subject_id: str
    payload: Mapping[str, Any]
    partner_id: str | None = None
    payload_text: str | None = None
    """The payload's canonical text (:func:`canonical_payload_text`) when the caller rendered it
    already (bulk paths render it where the payload is made); None to render it here."""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.ensure_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in an event payload")


def normalize_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as plain JSON values: what is stored is exactly what is hashed."""
    if type(payload) is dict and _plain(payload):
        return payload
    result: dict[str, Any] = json.loads(json.dumps(payload, default=_json_default))
    return result


def _timestamp(value: datetime) -> str:
    return clock.ensure_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


_MAX_EXACT_INT = 2**53


def _plain(value: Any) -> bool:
    """Whether ``json.dumps`` renders ``value`` exactly as RFC 8785 does.

    That holds for strings, booleans, null, integers that JSON numbers represent exactly, and
    objects whose keys are ASCII (so code-point order equals RFC 8785's UTF-16 order). Floats
    and anything else take the reference implementation.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_EXACT_INT < value < _MAX_EXACT_INT)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            # Flat payloads of strings and small integers are the common case: no call.
            kind = type(item)
            if kind is str or item is None:
                continue
            if kind is int and -_MAX_EXACT_INT < item < _MAX_EXACT_INT:
                continue
            if not _plain(item):
                return False
        return True
    if kind is list:
        return all(_plain(item) for item in value)
    return False


def canonical_json(document: Mapping[str, Any], *, plain: bool | None = None) -> bytes:
    """RFC 8785 (JCS) canonical JSON, through the standard library when that is exact."""
    if plain if plain is not None else _plain(document):
        try:
            text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let the reference implementation decide
            pass
    return rfc8785.dumps(document)


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 over the RFC 8785 canonical JSON of an entry and its predecessor's hash."""
    document: dict[str, Any] = {name: entry[name] for name in HASHED_FIELDS}
    document["occurred_at"] = _timestamp(entry["occurred_at"])
    # The other fields are ids, names and a small sequence number: only the payload can hold
    # values the standard library would render differently.
    plain = _plain(document["payload"]) and 0 < document["seq"] < _MAX_EXACT_INT
    return hashlib.sha256(canonical_json(document, plain=plain)).hexdigest()


def ensure_head(db: Session) -> None:
    """Create the chain head if the log has never been written (idempotent)."""
    if db.get(EventChainHead, HEAD_ID) is None:
        db.add(EventChainHead(id=HEAD_ID, seq=0, hash=GENESIS_HASH))
        db.flush()


def _lock_head(db: Session) -> EventChainHead:
    head = db.execute(
        select(EventChainHead).where(EventChainHead.id == HEAD_ID).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        ensure_head(db)
        return _lock_head(db)
    return head


def subject_type_of(subject: Subject) -> str:
    """The subject type named in events: the table's singular name."""
    return str(getattr(subject, "__event_subject__", type(subject).__name__.lower()))


def append(
    db: Session,
    actor: Principal,
    type: str,
    subject: Subject,
    *,
    partner_id: str | None = None,
    **payload: Any,
) -> Event:
    """Append one event about ``subject`` in the caller's transaction."""
    draft = Draft(type, subject_type_of(subject), subject.id, payload, partner_id)
    return Event(**append_many(db, actor, [draft])[0])


def append_many(db: Session, actor: Principal, drafts: Iterable[Draft]) -> list[dict[str, Any]]:
    """Append several events in order, with one lock and one bulk insert; returns the rows."""
    head = _lock_head(db)  # first: no event appended after ours can carry an earlier time
    renderer = Renderer.of(actor, clock.now())
    rendered = [renderer.render(draft) for draft in drafts]
    return [
        {**dict(zip(_COLUMNS, values, strict=True)), "occurred_at": renderer.at, "payload": item[5]}
        for values, item in zip(_chain(db, actor, renderer, head, rendered), rendered, strict=True)
    ]


# The payload as the standard library writes it: compact, and sorted for the canonical form.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# A string as JSON text, as json.dumps(..., ensure_ascii=False) writes it.
_string: Callable[[str], str] = encode_basestring


def canonical_payload_text(payload: dict[str, Any]) -> str | None:
    """The canonical text of a payload of plain JSON values, for :attr:`Draft.payload_text`;
    None when the standard library would not write it exactly (leave the field unset then)."""
    return _CANONICAL.encode(payload) if type(payload) is dict and _plain(payload) else None


def _draft_payload(draft: Draft) -> tuple[dict[str, Any], str | None]:
    """A draft's payload and canonical text: the caller's text when it rendered one."""
    if draft.payload_text is None:
        return _payload_and_text(draft.payload)
    given = draft.payload
    return (given if type(given) is dict else dict(given)), draft.payload_text


def _payload_and_text(payload: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The payload as plain JSON values, and its canonical text when the standard library
    writes it exactly (None otherwise: the entry is hashed the general way)."""
    if type(payload) is dict and _plain(payload):
        return payload, _CANONICAL.encode(payload)
    normalized: dict[str, Any] = json.loads(json.dumps(payload, default=_json_default))
    if _plain(normalized):
        return normalized, _CANONICAL.encode(normalized)
    return normalized, None


@dataclass(frozen=True, slots=True)
class _Shared:
    """The canonical text of the fields every entry of a batch shares."""

    actor: str  # '{"actor_id":...,"actor_type":...,"id":'; empty if not plain strings
    occurred_at: str  # ',"occurred_at":...,"partner_id":'

    @classmethod
    def of(cls, actor: Principal, stamp: str) -> _Shared:
        kind, actor_id = actor.kind, actor.id
        plain = type(kind) is str and (actor_id is None or type(actor_id) is str)
        return cls(
            f'{{"actor_id":{_CANONICAL.encode(actor_id)},"actor_type":{_string(kind)},"id":'
            if plain
            else "",
            f',"occurred_at":{_string(stamp)},"partner_id":',
        )


def _text_parts(
    shared: _Shared,
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


def _chained_text(parts: tuple[bytes, bytes], prev: str, seq: int) -> bytes:
    head, tail = parts
    return b"".join(
        (head, _string(prev).encode("utf-8"), b',"seq":', str(seq).encode("ascii"), tail)
    )


Rendered = tuple[
    str, str, str, str, str | None, dict[str, Any], str | None, bytes | None, bytes | None
]
"""An event made ahead of its append (:meth:`Renderer.render`): id, type, subject type,
subject id, partner id, payload, the payload's canonical text, and the hashed text around the
previous hash and sequence number (None when the entry must be hashed the general way)."""


@dataclass(frozen=True, slots=True)
class Renderer:
    """Makes events ahead of their append, for bulk paths that do it in worker processes.

    Everything an entry's hash covers is rendered here except the chain's part (previous hash
    and sequence number), which :func:`append_rendered` adds under the log's lock. Picklable:
    a bulk path sends one to each worker.
    """

    shared: _Shared
    at: datetime

    @classmethod
    def of(cls, actor: Principal, at: datetime) -> Renderer:
        """A renderer for events by ``actor`` that occur at ``at``."""
        return cls(_Shared.of(actor, _timestamp(at)), at)

    def render(self, draft: Draft) -> Rendered:
        """The event of ``draft``, with a fresh id, ready for :func:`append_rendered`."""
        payload, payload_text = _draft_payload(draft)
        identity = new_id("evt")
        parts = (
            None
            if payload_text is None
            else _text_parts(
                self.shared,
                identity,
                draft.partner_id,
                payload_text,
                draft.subject_id,
                draft.subject_type,
                draft.type,
            )
        )
        head, tail = parts if parts is not None else (None, None)
        return (
            identity,
            draft.type,
            draft.subject_type,
            draft.subject_id,
            draft.partner_id,
            payload,
            payload_text,
            head,
            tail,
        )


def append_rendered(
    db: Session, actor: Principal, renderer: Renderer, rendered: Sequence[Rendered]
) -> None:
    """Append events made by ``renderer`` (for ``actor``), in order, with one lock and one
    bulk insert: each is chained (sequence number, previous hash, hash) here."""
    if rendered:
        _chain(db, actor, renderer, _lock_head(db), rendered)


def _chain(
    db: Session,
    actor: Principal,
    renderer: Renderer,
    head_row: EventChainHead,
    rendered: Sequence[Rendered],
) -> list[tuple[Any, ...]]:
    """Chain rendered events after the locked head, insert them and move the head; returns
    their column values (``_COLUMNS`` order, as bound)."""
    if not rendered:
        return []
    dialect = db.get_bind().dialect.name
    params, seq, prev = _chained(actor, renderer, dialect, (head_row.seq, head_row.hash), rendered)
    rows: list[dict[str, Any]] = []
    if dialect not in {"sqlite", "postgresql"}:
        rows = [dict(zip(_COLUMNS, values, strict=True)) for values in params]
        for row, (_, _, _, _, _, payload, *_rest) in zip(rows, rendered, strict=True):
            row["occurred_at"] = renderer.at
            row["payload"] = payload
    _insert_rows(db, dialect, rows, params)
    head_row.seq, head_row.hash = seq, prev
    db.flush()
    return params


def _chained(
    actor: Principal,
    renderer: Renderer,
    dialect: str,
    after: tuple[int, str],
    rendered: Sequence[Rendered],
) -> tuple[list[tuple[Any, ...]], int, str]:
    """The column values (``_COLUMNS`` order, as ``dialect``'s driver binds them) of rendered
    events chained after the entry ``after`` (its sequence number and hash), and the new last
    sequence number and hash. Computes only: nothing is read or written."""
    at = renderer.at
    stored_at: Any = _sqlite_timestamp(at) if dialect == "sqlite" else clock.ensure_utc(at)
    actor_type, actor_id = actor.kind, actor.id
    params: list[tuple[Any, ...]] = []
    seq, prev = after
    sha256 = hashlib.sha256
    for identity, kind, subject_type, subject_id, partner_id, payload, text, head, tail in rendered:
        seq += 1
        stored = text
        if head is not None and tail is not None and seq < _MAX_EXACT_INT:
            digest = sha256(_chained_text((head, tail), prev, seq)).hexdigest()
        else:
            row = {
                "seq": seq,
                "id": identity,
                "occurred_at": at,
                "actor_type": actor_type,
                "actor_id": actor_id,
                "type": kind,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "partner_id": partner_id,
                "payload": payload,
                "prev_hash": prev,
            }
            digest = entry_hash(row)
            stored = _COMPACT.encode(payload)
        params.append(
            (
                seq,
                identity,
                stored_at,
                actor_type,
                actor_id,
                kind,
                subject_type,
                subject_id,
                partner_id,
                stored,
                prev,
                digest,
            )
        )
        prev = digest
    return params, seq, prev


class HeldLog:
    """The events log held locked by one transaction, for a bulk path that stores its events
    itself (PostgreSQL only): :meth:`chain` computes the rows, :func:`copy_rows` writes them.

    The head row moves in the session as entries are chained; it is written when the session
    next flushes, in the same transaction as the rows, whatever their order.
    """

    def __init__(self, db: Session, actor: Principal, renderer: Renderer) -> None:
        if db.get_bind().dialect.name != "postgresql":
            raise ValueError("a held events log is only for PostgreSQL")
        self._head = _lock_head(db)
        self._actor = actor
        self._renderer = renderer

    def chain(self, rendered: Sequence[Rendered]) -> list[tuple[Any, ...]]:
        """Chain events made by this log's renderer after the head; their rows for
        :func:`copy_rows`, which the caller must write before the transaction commits."""
        if not rendered:
            return []
        head = self._head
        params, head.seq, head.hash = _chained(
            self._actor, self._renderer, "postgresql", (head.seq, head.hash), rendered
        )
        return params


_COLUMNS = (*HASHED_FIELDS, "hash")
# Only constant column names are interpolated; values are bound or streamed.
_INSERT_SQL = "INSERT INTO events ({}) VALUES ({})".format(  # noqa: S608
    ", ".join(_COLUMNS), ", ".join("?" for _ in _COLUMNS)
)
_COPY_SQL = f"COPY events ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# The PostgreSQL types of _COLUMNS, for binary COPY (no text parsing on the server).
_COPY_TYPES = (
    "int8",
    "varchar",
    "timestamptz",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "jsonb",
    "varchar",
    "varchar",
)
_PAYLOAD = _COLUMNS.index("payload")


def _as_is(text: str) -> str:
    return text


def _insert_rows(
    db: Session, dialect: str, rows: list[dict[str, Any]], params: list[tuple[Any, ...]]
) -> None:
    """Insert event rows through the driver: executemany on SQLite, COPY on PostgreSQL.

    Imports and bulk issuance append one event per row, so this is a hot path: binding
    through the driver directly, with the payload serialized once (the canonical text that was
    hashed), costs a fraction of SQLAlchemy's per-value processing. Other dialects take the
    ordinary path.
    """
    if dialect == "sqlite":
        db.connection().exec_driver_sql(_INSERT_SQL, params)
    elif dialect == "postgresql":
        copy_rows(db.connection().connection.driver_connection, params)
    else:
        db.execute(insert(Event), rows)


def copy_rows(driver: Any, params: Sequence[tuple[Any, ...]]) -> None:
    """Write chained event rows on a psycopg connection with binary COPY."""
    from psycopg.types.json import Jsonb  # only PostgreSQL needs psycopg

    with driver.cursor() as cursor, cursor.copy(_COPY_SQL) as copy:
        copy.set_types(_COPY_TYPES)
        for values in params:
            # The payload is JSON text already: sent as it is.
            payload = Jsonb(values[_PAYLOAD], dumps=_as_is)
            copy.write_row((*values[:_PAYLOAD], payload, *values[_PAYLOAD + 1 :]))


def _sqlite_timestamp(value: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime type stores and reads back.
    return clock.ensure_utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of walking the chain."""

    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None
    event_id: str | None = None


def _stream(db: Session, batch: int = 5000) -> Iterator[Event]:
    last = 0
    while True:
        page = (
            db.execute(select(Event).where(Event.seq > last).order_by(Event.seq).limit(batch))
            .scalars()
            .all()
        )
        if not page:
            return
        yield from page
        last = page[-1].seq
        db.expunge_all()


def verify_chain(db: Session) -> ChainReport:
    """Walk the log from the start; report the first entry that was altered, removed or moved."""
    expected_seq, prev = 1, GENESIS_HASH
    checked = 0
    for event in _stream(db):
        recomputed = entry_hash({name: getattr(event, name) for name in HASHED_FIELDS})
        if event.seq != expected_seq:
            problem = (
                f"entry #{expected_seq} is missing (removed); the log jumps to #{event.seq}"
                if event.seq > expected_seq
                else f"entry #{event.seq} appears out of order"
            )
            return ChainReport(False, checked, problem, expected_seq, event.id)
        if recomputed != event.hash:
            problem = f"entry #{event.seq} ({event.id}) was altered: its content no longer matches"
            return ChainReport(False, checked, problem, event.seq, event.id)
        if event.prev_hash != prev:
            problem = (
                f"entry #{event.seq} ({event.id}) does not follow the entry before it: "
                "an entry was removed, replaced or reordered"
            )
            return ChainReport(False, checked, problem, event.seq, event.id)
        prev = event.hash
        expected_seq += 1
        checked += 1
    head = db.get(EventChainHead, HEAD_ID)
    if head is not None and (head.seq != checked or head.hash != prev):
        if head.seq > checked:
            problem = f"entries #{checked + 1} to #{head.seq} are missing (removed from the end)"
        else:
            problem = "the chain head does not match the last entry"
        return ChainReport(False, checked, problem, checked + 1, None)
    return ChainReport(True, checked)
