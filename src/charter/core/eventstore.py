"""Where the events log's entries take their place: the chain head under its row lock, each
entry's sequence number and hash, and the rows written.

Appends take a row lock on the chain head, which serializes writers across processes on
PostgreSQL (SQLite serializes writers by itself), so the chain stays linear however many
processes write at once. Entries arrive made already (:class:`Rendered`, by
:class:`charter.core.events.Renderer`); this module only chains and stores them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import eventhash
from charter.core.auth import Principal
from charter.core.models import EventChainHead
from charter.db import bulk

HEAD_ID = 1
"""The id of the chain head's one row."""


class Rendered(NamedTuple):
    """An event made ahead of its append, everything but its place in the chain.

    ``head`` and ``tail`` are the hashed text around the previous hash and sequence number
    (:func:`charter.core.eventhash.text_parts`), None when the entry must be hashed the general
    way. A tuple: bulk paths make these in worker processes and send them back in chunks.
    """

    id: str
    type: str
    subject_type: str
    subject_id: str
    partner_id: str | None
    payload: dict[str, Any]
    payload_text: str | None
    head: bytes | None
    tail: bytes | None


RenderedValues = tuple[
    str, str, str, str, str | None, dict[str, Any], str | None, bytes | None, bytes | None
]
"""A :class:`Rendered` event's values in its fields' order: what a signing process sends back
(a plain tuple pickles at a quarter of a ``NamedTuple``'s cost), chained by position."""

COLUMNS = (*eventhash.HASHED_FIELDS, "hash")
"""The columns of a chained entry's row, in the order :func:`chain_rows` gives its values."""

EVENT_ROWS = bulk.BulkTable(
    "events",
    COLUMNS,
    (
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
    ),
)
"""How chained entries are written in bulk; the payload is its JSON text, stored as hashed."""


def ensure_head(db: Session) -> None:
    """Create the chain head if the log has never been written (idempotent)."""
    if db.get(EventChainHead, HEAD_ID) is None:
        db.add(EventChainHead(id=HEAD_ID, seq=0, hash=eventhash.GENESIS_HASH))
        db.flush()


def lock_head(db: Session) -> EventChainHead:
    """The chain head, locked for the rest of the caller's transaction (made if missing)."""
    head = db.execute(
        select(EventChainHead).where(EventChainHead.id == HEAD_ID).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        ensure_head(db)
        return lock_head(db)
    return head


def insert_chained(
    db: Session,
    actor: Principal,
    at: datetime,
    head_row: EventChainHead,
    rendered: Sequence[RenderedValues],
) -> list[tuple[Any, ...]]:
    """Chain events by ``actor`` at ``at`` after the locked head, insert them and move the
    head; returns their column values (:data:`COLUMNS` order, as bound)."""
    if not rendered:
        return []
    dialect = db.get_bind().dialect.name
    params, seq, prev = chain_rows(actor, at, dialect, (head_row.seq, head_row.hash), rendered)
    bulk.insert_rows(db, EVENT_ROWS, params)
    head_row.seq, head_row.hash = seq, prev
    db.flush()
    return params


def chain_rows(
    actor: Principal,
    at: datetime,
    dialect: str,
    after: tuple[int, str],
    rendered: Sequence[RenderedValues],
) -> tuple[list[tuple[Any, ...]], int, str]:
    """The column values (:data:`COLUMNS` order, as ``dialect``'s driver binds them) of events
    by ``actor`` at ``at`` chained after the entry ``after`` (its sequence number and hash),
    and the new last sequence number and hash. Computes only: nothing is read or written."""
    stored_at = bulk.bound_time(at, dialect)
    actor_type, actor_id = actor.kind, actor.id
    params: list[tuple[Any, ...]] = []
    seq, prev = after
    sha256 = hashlib.sha256
    for identity, kind, subject_type, subject_id, partner_id, payload, text, head, tail in rendered:
        seq += 1
        stored = text
        if head is not None and tail is not None and seq < eventhash.MAX_EXACT_INT:
            digest = sha256(eventhash.chained_text(head, tail, prev, seq)).hexdigest()
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
            digest = eventhash.entry_hash(row)
            stored = eventhash.compact_payload_text(payload)
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
