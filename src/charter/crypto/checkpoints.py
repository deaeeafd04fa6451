"""Signed checkpoints of the events log, so that a rewritten or shortened history shows.

The hash chain (:mod:`charter.core.eventverify`) shows an entry altered in place, but whoever
can write the database can also cut the last entries and move the head, or re-hash every entry
after an edit: the chain holds no secret. A checkpoint states the head's sequence number and
hash, the number of entries, the time and the signing key, signed by the issuer's key as a
compact JWS (RFC 7515; ``alg`` ``Ed25519``, RFC 9864) whose ``kid`` is the key's verification
method in the issuer's DID document, so anyone can check one with a JOSE library and the
public key. Kept somewhere the database's writers cannot reach (fetched from
``/audit/checkpoints`` or exported with ``charter audit checkpoints --export``), checkpoints
let :func:`verify_checkpoints` tell a truncated log (it ends before a checkpoint's entry), a
rewritten one (that entry has another hash) and a forged checkpoint (its signature does not
verify against any of the deployment's keys, retired ones included).

The worker signs one at an interval while the log grows (``CHARTER_AUDIT_CHECKPOINT_MINUTES``)
and ``charter audit checkpoint`` signs one at once; each is signed only once the chain verifies
from the previous checkpoint to the head, so the series never vouches for a broken log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, eventhash, eventstore, eventverify
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid
from charter.core.ids import new_id
from charter.core.models import Event, EventChainHead
from charter.core.pagination import Page, paginate
from charter.crypto import dids, keyring
from charter.crypto.models import EventCheckpoint
from charter.db.engine import settings_of

ALGORITHM = "Ed25519"
"""The JWS algorithm: EdDSA over Ed25519, by its fully specified name (RFC 9864)."""
JWS_TYPE = "charter-checkpoint+jws"
"""The ``typ`` header: a checkpoint is not mistaken for anything else the key signs."""
STATEMENT_TYPE = "EventsLogCheckpoint"
"""The ``type`` of the signed payload."""
MEDIA_TYPE = "application/jsonl"
"""Checkpoints as published and exported: one JSON object a line."""

LINE_FIELDS = ("seq", "hash", "count", "checkpointed_at", "verification_method")
"""The fields of a published checkpoint beside its JWS: copies of the signed ones, to read."""


@dataclass(frozen=True, slots=True)
class Statement:
    """What a checkpoint states: the payload its signature covers."""

    issuer: str
    verification_method: str
    seq: int
    hash: str
    count: int
    checkpointed_at: str

    def payload(self) -> dict[str, Any]:
        """The signed JSON object."""
        return {
            "type": STATEMENT_TYPE,
            "issuer": self.issuer,
            "verification_method": self.verification_method,
            "seq": self.seq,
            "hash": self.hash,
            "count": self.count,
            "checkpointed_at": self.checkpointed_at,
        }

    @classmethod
    def of(cls, payload: Any) -> Statement:
        """The statement in a signed payload; ``ValueError`` naming what is wrong."""
        if not isinstance(payload, dict) or payload.get("type") != STATEMENT_TYPE:
            raise ValueError(f"its payload is not an {STATEMENT_TYPE}")
        for name in ("issuer", "verification_method", "hash", "checkpointed_at"):
            if not isinstance(payload.get(name), str):
                raise ValueError(f"its payload has no {name}")
        for name in ("seq", "count"):
            value = payload.get(name)
            if type(value) is not int or value < 1:
                raise ValueError(f"its payload's {name} is not a positive integer")
        return cls(
            issuer=payload["issuer"],
            verification_method=payload["verification_method"],
            seq=payload["seq"],
            hash=payload["hash"],
            count=payload["count"],
            checkpointed_at=payload["checkpointed_at"],
        )

    def line(self, jws_text: str) -> dict[str, Any]:
        """The checkpoint as published: the statement's fields to read, and the JWS to trust."""
        return {name: getattr(self, name) for name in LINE_FIELDS} | {"jws": jws_text}


def sign_statement(statement: Statement, private_key: Ed25519PrivateKey) -> str:
    """The compact JWS of ``statement`` (its payload as RFC 8785 canonical JSON)."""
    header = {"alg": ALGORITHM, "kid": statement.verification_method, "typ": JWS_TYPE}
    payload = eventhash.canonical_json(statement.payload())
    key = OKPKey.import_key(private_key)
    return jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM])


class Forged(Exception):
    """A checkpoint whose signature does not hold: the message says why."""


def open_statement(db: Session, jws_text: str) -> Statement:
    """The statement of a checkpoint signed by one of this deployment's keys (retired ones
    too); :class:`Forged` if the signature or the key does not hold, ``ValueError`` if the text
    is no checkpoint at all."""
    try:
        header = jws.extract_compact(jws_text.encode("ascii")).headers()
    except (JoseError, UnicodeError, ValueError) as error:
        raise ValueError(f"it is not a compact JWS ({error})") from None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or header.get("typ") != JWS_TYPE or not isinstance(kid, str):
        raise ValueError(f"it is not a checkpoint JWS (alg {ALGORITHM}, typ {JWS_TYPE}, a kid)")
    public_key = _public_key(db, kid)
    if public_key is None:
        raise Forged(f"it is signed by {kid}, which is none of this issuer's keys")
    try:
        opened = jws.deserialize_compact(
            jws_text, OKPKey.import_key(public_key), algorithms=[ALGORITHM]
        )
    except JoseError:
        raise Forged(f"its signature does not verify against {kid}") from None
    try:
        statement = Statement.of(json.loads(opened.payload))
    except (UnicodeError, json.JSONDecodeError):
        raise ValueError("its payload is not JSON") from None
    if statement.verification_method != kid:
        raise ValueError("its payload names another key than its header")
    return statement


def _public_key(db: Session, verification_method: str) -> Ed25519PublicKey | None:
    """One of our keys, current or retired, by its verification method; else ``None``.

    A ``did:key`` method is its own public key: it is taken from the identifier, once the
    keyring confirms the key is ours, so an edited key row cannot change what verifies.
    """
    if keyring.controller_of(db, verification_method) is None:
        return None
    if verification_method.startswith(dids.DID_KEY_PREFIX):
        try:
            return dids.resolve_did_key(verification_method)
        except Invalid:
            return None
    return keyring.public_key_for(db, verification_method)


def head_of(db: Session) -> tuple[int, str]:
    """The events log's head: its last sequence number and hash."""
    head = db.get(EventChainHead, eventstore.HEAD_ID)
    return (0, eventhash.GENESIS_HASH) if head is None else (head.seq, head.hash)


def _latest(db: Session) -> EventCheckpoint | None:
    return db.scalar(
        select(EventCheckpoint)
        .order_by(EventCheckpoint.seq.desc(), EventCheckpoint.id.desc())
        .limit(1)
    )


def _entry_hash(db: Session, seq: int) -> str | None:
    return db.scalar(select(Event.hash).where(Event.seq == seq))


def _trusted_start(db: Session, head_seq: int) -> tuple[int, str]:
    """Where the chain is known good: the latest checkpoint once its own signature and entry
    hold (at or before the head at ``head_seq``), else the start of the log."""
    latest = _latest(db)
    if latest is None:
        return 0, eventhash.GENESIS_HASH
    try:
        statement = open_statement(db, latest.jws)
    except (Forged, ValueError) as error:
        raise Conflict(
            f"the latest checkpoint ({latest.id}) does not verify: {error}; no checkpoint signed"
        ) from None
    if head_seq < statement.seq:
        raise Conflict(
            f"the events log ends at entry #{head_seq}, before entry #{statement.seq} of the "
            f"checkpoint signed {statement.checkpointed_at}: entries were removed from the end; "
            "no checkpoint signed"
        )
    if _entry_hash(db, statement.seq) != statement.hash:
        raise Conflict(
            f"entry #{statement.seq} no longer has the hash the checkpoint signed "
            f"{statement.checkpointed_at} holds: the history was rewritten; no checkpoint signed"
        )
    return statement.seq, statement.hash


@dataclass(frozen=True, slots=True)
class RecentCheck:
    """A walk of the chain from the latest checkpoint: where it started and ended, how it went."""

    start_seq: int
    end_seq: int
    head_seq: int
    report: eventverify.ChainReport


def latest_checkpoint(db: Session, actor: Principal) -> EventCheckpoint | None:
    """The latest signed checkpoint: the last time the chain was verified to its head."""
    actor.require(Permission.EVENTS_READ)
    return _latest(db)


def verify_recent(db: Session, actor: Principal, *, at_most: int) -> RecentCheck:
    """Walk the chain from the latest checkpoint, ``at_most`` entries, reading only.

    Vendor staff only (partner users' scope is one firm, the chain is the whole program's). The
    walk is bounded so a page asking for it answers soon, whatever the log's size; a
    checkpoint that no longer holds is a :class:`Conflict` naming why.
    """
    actor.require(Permission.EVENTS_READ)
    if actor.partner_scope is not None:
        actor.require(Permission.USERS_MANAGE)
    head = head_of(db)
    start = _trusted_start(db, head[0])
    end_seq = min(head[0], start[0] + max(1, at_most))
    end_hash = head[1] if end_seq == head[0] else _entry_hash(db, end_seq)
    # A missing entry at the end of the walk shows as the head not matching: a removal.
    report = eventverify.verify_chain(db, after=start, until=(end_seq, end_hash or ""))
    return RecentCheck(start[0], end_seq, head[0], report)


def create_checkpoint(db: Session, actor: Principal) -> EventCheckpoint:
    """Sign a checkpoint of the events log's head with the issuer's active key, once the chain
    verifies from the latest checkpoint to the head (:class:`Conflict` otherwise)."""
    # Anyone who may read the log may have its state attested: it changes nothing in it.
    actor.require(Permission.EVENTS_READ)
    if head_of(db)[0] == 0:
        raise Conflict("the events log is empty: there is nothing to checkpoint")
    # Before the head is read: a deployment's first key is recorded by an event.
    signer = keyring.active_signer(db, settings_of(db))
    head = head_of(db)
    start = _trusted_start(db, head[0])
    report = eventverify.verify_chain(db, after=start, until=head)
    if not report.ok:
        raise Conflict(
            f"the events log does not verify after entry #{start[0]}: {report.problem}; "
            "no checkpoint signed"
        )
    at = clock.now()
    statement = Statement(
        issuer=signer.controller,
        verification_method=signer.verification_method,
        seq=head[0],
        hash=head[1],
        count=start[0] + report.checked,
        checkpointed_at=eventhash.json_time(at),
    )
    row = EventCheckpoint(
        id=new_id("ckp"),
        seq=statement.seq,
        hash=statement.hash,
        count=statement.count,
        checkpointed_at=at,
        verification_method=statement.verification_method,
        jws=sign_statement(statement, signer.private_key),
    )
    db.add(row)
    db.flush()
    return row


def checkpoint_if_due(db: Session, actor: Principal, *, every: timedelta) -> EventCheckpoint | None:
    """Sign a checkpoint when the log has grown since the latest one and that one is at least
    ``every`` old; ``None`` when none is due."""
    seq, _ = head_of(db)
    latest = _latest(db)
    if seq == 0 or (latest is not None and latest.seq == seq):
        return None
    if latest is not None and clock.now() - clock.ensure_utc(latest.checkpointed_at) < every:
        return None
    return create_checkpoint(db, actor)


def statement_of(row: EventCheckpoint) -> Statement:
    """The statement a stored checkpoint signed, read from its JWS (not verified here)."""
    payload = jws.extract_compact(row.jws.encode("ascii")).payload
    return Statement.of(json.loads(payload))


def line_of(row: EventCheckpoint) -> dict[str, Any]:
    """A stored checkpoint as published and exported."""
    return statement_of(row).line(row.jws)


def jsonl(rows: Iterable[EventCheckpoint]) -> str:
    """Checkpoints as JSON Lines."""
    return "".join(json.dumps(line_of(row), ensure_ascii=False) + "\n" for row in rows)


def list_checkpoints(db: Session, *, cursor: str | None, limit: int) -> Page[EventCheckpoint]:
    """Checkpoints in the order they were signed; public: they state nothing but the head."""
    return paginate(db, select(EventCheckpoint), EventCheckpoint.id, cursor=cursor, limit=limit)


def all_checkpoints(db: Session) -> list[EventCheckpoint]:
    """Every checkpoint, in the order they were signed."""
    return list(db.scalars(select(EventCheckpoint).order_by(EventCheckpoint.id)))
