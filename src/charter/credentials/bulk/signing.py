"""The signing side of bulk issuance: what a worker process gets, does and sends back.

A worker gets its batch's shared data once (:class:`Batch`, with the signing key's seed), then
chunks of :class:`BulkItem`; for each award it builds, checks, signs and serializes the
credential and renders its ``credential.issued`` event, and sends back a :class:`Signed`
chunk: credential rows as the database driver binds them and events ready to be chained. The
messages are ``NamedTuple``s: they pickle as tuples, at a tuple's size and speed.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.config import Settings
from charter.core import events, eventstore
from charter.core.errors import Invalid
from charter.core.eventhash import json_time
from charter.core.ids import new_id
from charter.credentials import documents, issuance, ob3, proofs, status, statuslist
from charter.credentials.bulk import templates
from charter.credentials.bulk.templates import OpenFields, cached
from charter.credentials.enums import CredentialStatus
from charter.credentials.models import IssuedCredential
from charter.crypto import keyring, keys
from charter.db import bulk

WORKER_NICENESS = 10
"""How much lower a signing worker's scheduling priority is than its parent's."""


@dataclass(frozen=True, slots=True)
class Batch:
    """What every document of a bulk batch shares (sent once to each worker)."""

    settings: Settings
    issuer: ob3.IssuerProfile
    achievements: dict[str, ob3.AchievementInfo]
    verification_method: str
    signing_key_id: str
    created: datetime
    dialect: str
    events: events.Renderer  # the credential.issued events, which occur at ``created``


class BulkItem(NamedTuple):
    """One award to sign in bulk (chunks of them cross to the signing processes)."""

    award_id: str
    achievement_key: str
    email: str
    holder_did: str | None
    valid_from: datetime
    valid_until: datetime | None
    revocation_list_id: str
    revocation_index: int
    suspension_list_id: str
    suspension_index: int
    person_id: str
    partner_id: str | None


class CredentialRow(NamedTuple):
    """An ``issued_credentials`` row, its values as the database driver binds them (timestamps
    by :func:`charter.db.bulk.bound_time`)."""

    id: str
    award_id: str
    document: str
    signing_key_id: str
    verification_method: str
    issued_at: Any
    valid_from: Any
    valid_until: Any
    revocation_list_id: str
    revocation_index: int
    suspension_list_id: str
    suspension_index: int
    superseded_by_id: str | None
    status: str
    status_reason: str | None
    status_changed_at: Any
    salt: str
    created_at: Any


CREDENTIAL_ROWS = bulk.BulkTable(
    "issued_credentials",
    CredentialRow._fields,
    (
        "varchar",
        "varchar",
        "text",
        "varchar",
        "varchar",
        "timestamptz",
        "timestamptz",
        "timestamptz",
        "varchar",
        "int4",
        "varchar",
        "int4",
        "varchar",
        "varchar",
        "text",
        "timestamptz",
        "varchar",
        "timestamptz",
    ),
)
"""How :class:`CredentialRow` values are written in bulk."""

RowValues = list[tuple[Any, ...]]
"""Credential rows as the storing process gets them: each :class:`CredentialRow`'s values in its
fields' order, bound by position."""
RenderedValues = list[eventstore.RenderedValues]
"""Events as the storing process gets them, chained by position."""
ROW_ID = CredentialRow._fields.index("id")


class Chunk(NamedTuple):
    """Awards sent to a signing worker in one task."""

    items: list[BulkItem]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as plain tuples (see :func:`_plain`)."""
        return _chunk, (_plain(self.items),)


class Signed(NamedTuple):
    """A signed chunk: its credential rows and their ``credential.issued`` events, rendered by
    the signer up to their place in the chain, so that the process storing them only chains
    them.

    The signer builds each row and event as its ``NamedTuple``; they arrive as plain values in
    the same order. The storing process (the batch's critical path) binds and chains them by
    position and reads no field by name, so making them ``NamedTuple``s again there would only
    cost it: about 2 us per award, measured.
    """

    rows: RowValues
    events: RenderedValues

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as plain tuples (see :func:`_plain`)."""
        return _signed, (_plain(self.rows), _plain(self.events))


def _plain(messages: list[Any]) -> list[tuple[Any, ...]]:
    """Messages as the plain tuples they are pickled as.

    Pickle writes a ``NamedTuple`` through a Python call per object and reads it back through
    another: four times a plain tuple's cost, paid for every award by the process that stores
    the batch (its critical path). A chunk's messages cross as plain tuples; the awards sent to
    a signer are made ``BulkItem``s again on arrival, the signed rows and events are not (see
    :class:`Signed`).
    """
    return [tuple(message) for message in messages]


def _chunk(items: list[tuple[Any, ...]]) -> Chunk:
    new = tuple.__new__
    return Chunk([new(BulkItem, item) for item in items])


def _signed(rows: RowValues, rendered: RenderedValues) -> Signed:
    return Signed(rows, rendered)


@dataclass(slots=True)
class Signing:
    """What signs a batch's chunks in one process: the signer and the document shapes seen."""

    signer: proofs.BatchSigner
    batch: Batch
    shapes: dict[tuple[str, bool, bool], templates.Shape | None] = field(default_factory=dict)

    @classmethod
    def of(cls, key: Ed25519PrivateKey, batch: Batch) -> Signing:
        """Signing with ``key`` for ``batch``, in this process."""
        return cls(proofs.BatchSigner(key, batch.verification_method, batch.created), batch)

    def shape(self, key: str, with_did: bool, with_until: bool) -> templates.Shape | None:
        """The shape of a kind of document, analysed the first time it is seen."""
        shape_key = (key, with_did, with_until)
        if shape_key not in self.shapes:
            batch = self.batch
            self.shapes[shape_key] = templates.shape_of(
                batch.issuer, batch.achievements, *shape_key
            )
        return self.shapes[shape_key]


_worker: Signing | None = None
_new_tuple = tuple.__new__
_MISSING = object()


def init_worker(seed: bytes, batch: Batch) -> None:
    """A pool worker's start: its signing state for the batch, at a lower priority."""
    # The seed reaches the worker through the pool's pipe (or a fork), never a file.
    global _worker  # noqa: PLW0603 - per-process state of a pool worker
    _worker = Signing.of(Ed25519PrivateKey.from_private_bytes(seed), batch)
    # Below the process that stores what the workers sign (and below a server's requests): it
    # is the batch's critical path, and the workers use whatever it leaves.
    os.nice(WORKER_NICENESS)


def issue_chunk(chunk: Chunk) -> Signed:
    """A pool worker's task: build, check, sign and serialize one chunk of credentials."""
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("signing worker has no key")
    return sign_chunk(_worker, chunk.items)


def start_pool(workers: int, signer: keyring.Signer, batch: Batch) -> ProcessPoolExecutor:
    """A pool of ``workers`` signing processes for ``batch``."""
    # fork starts workers at once with this process's warm caches (contexts, templates); it is
    # only safe while no other thread could hold a lock at the moment of the fork, so a
    # threaded process (a web server) starts clean workers from a fork server instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context(method),
        initializer=init_worker,
        initargs=(keys.raw_seed(signer.private_key), batch),
    )


def sign_chunk(signing: Signing, items: Sequence[BulkItem]) -> Signed:
    """Build, check, sign and serialize one chunk; its credential rows and events."""
    chunk = _Chunk(signing)
    rows: RowValues = []
    rendered: RenderedValues = []
    for item in items:
        credential_id = new_id("bdg")
        salt = secrets.token_hex(16)
        text = chunk.document_text(item, credential_id, salt)
        rows.append(chunk.row(item, credential_id, salt, text))
        rendered.append(chunk.issued_event(item, credential_id))
    return Signed(rows, rendered)


class _Chunk:
    """A chunk being signed: awards of a batch share a few dates and lists, each rendered once
    per chunk."""

    __slots__ = (
        "_bound",
        "_created",
        "_list_urls",
        "_payload_text",
        "_signing",
        "_stamps",
        "_times",
    )

    def __init__(self, signing: Signing) -> None:
        batch = signing.batch
        self._signing = signing
        self._created = bulk.bound_time(batch.created, batch.dialect)
        self._bound: dict[datetime | None, Any] = {}
        self._times: dict[datetime | None, str | None] = {}
        self._stamps: dict[datetime | None, str] = {}
        self._list_urls: dict[str, str] = {}
        self._payload_text = templates.IssuedText(batch.verification_method)

    def document_text(self, item: BulkItem, credential_id: str, salt: str) -> str:
        """The signed JSON text of an award's credential: from its shape when it has one."""
        signing = self._signing
        settings = signing.batch.settings
        list_url = cached(
            self._list_urls,
            item.revocation_list_id,
            lambda list_id: status.list_url(settings, list_id),
        )
        url = documents.credential_url(settings, credential_id)
        email, holder_did = item.email, item.holder_did
        valid_from, valid_until = item.valid_from, item.valid_until
        text = None
        # What build_document would refuse takes the full path, which names the problem.
        if (
            email
            and (valid_until is None or valid_until > valid_from)
            and (holder_did is None or ob3.is_did(holder_did))
        ):
            shape = signing.shape(
                item.achievement_key, holder_did is not None, valid_until is not None
            )
            if shape is not None:
                values = OpenFields(
                    url,
                    cached(self._stamps, valid_from, ob3.format_timestamp),
                    cached(self._stamps, valid_until, ob3.format_timestamp) if valid_until else "",
                    holder_did or "",
                    ob3.identity_hash(email, salt),
                    salt,
                    statuslist.entry_id(list_url, item.revocation_index),
                    str(item.revocation_index),
                    list_url,
                    # Bulk issues an award's first credential: awarded when it is valid from.
                    cached(self._stamps, valid_from, ob3.format_timestamp),
                )
                text = _from_shape(signing, shape, values)
        if text is None:
            entry = statuslist.status_entry(list_url, item.revocation_index, "revocation")
            facts = documents.DocumentFacts(
                item.award_id,
                url,
                item.achievement_key,
                email,
                salt,
                valid_from,
                valid_until,
                entry,
                holder_did,
                valid_from,
            )
            text = sign_in_full(signing, facts)
        return text

    def row(self, item: BulkItem, credential_id: str, salt: str, text: str) -> CredentialRow:
        """The ``issued_credentials`` row of an award's credential."""
        batch = self._signing.batch
        dialect = batch.dialect
        # Positional, through tuple.__new__: a keyword NamedTuple call costs four times as much,
        # per award, on the signing path. The order is CredentialRow's fields'.
        return _new_tuple(
            CredentialRow,
            (
                credential_id,
                item.award_id,
                text,
                batch.signing_key_id,
                batch.verification_method,
                self._created,
                self._bound_time(item.valid_from, dialect),
                self._bound_time(item.valid_until, dialect),
                item.revocation_list_id,
                item.revocation_index,
                item.suspension_list_id,
                item.suspension_index,
                None,  # superseded_by_id
                CredentialStatus.ACTIVE.value,
                None,  # status_reason
                None,  # status_changed_at
                salt,
                self._created,
            ),
        )

    def _bound_time(self, value: datetime | None, dialect: str) -> Any:
        found = self._bound.get(value, _MISSING)
        if found is _MISSING:
            self._bound[value] = found = bulk.bound_time(value, dialect)
        return found

    def issued_event(self, item: BulkItem, credential_id: str) -> eventstore.Rendered:
        """The ``credential.issued`` event of an award's credential, ready to be chained."""
        batch = self._signing.batch
        payload = issuance.issued_payload(
            award_id=item.award_id,
            person_id=item.person_id,
            verification_method=batch.verification_method,
            revocation_list_id=item.revocation_list_id,
            revocation_index=item.revocation_index,
            valid_from=cached(self._times, item.valid_from, json_time),
            valid_until=cached(self._times, item.valid_until, _json_time_or_none),
        )
        draft = events.Draft(
            issuance.ISSUED,
            IssuedCredential.__event_subject__,
            credential_id,
            payload,
            item.partner_id,
            self._payload_text.render(payload),
        )
        return batch.events.render(draft)


def _json_time_or_none(value: datetime | None) -> str | None:
    return None if value is None else json_time(value)


def _from_shape(signing: Signing, shape: templates.Shape, values: OpenFields) -> str | None:
    """The signed JSON text of a document of ``shape``; None if it must be built in full."""
    canonical = shape.canonical_text(values)
    if canonical is None:
        return None
    proof = signing.signer.proof_text_for(shape.context, canonical)
    if proof is None:
        return None
    return shape.signed_text(values, proof)


def sign_in_full(signing: Signing, facts: documents.DocumentFacts) -> str:
    """Build, check and sign one document the long way; its signed JSON text."""
    document = documents.build_document(signing.batch.issuer, signing.batch.achievements, facts)
    problems = ob3.validate_credential(document)
    if problems:
        raise documents.Refusal(
            f"award {facts.award_id}: refusing to sign a credential that does not conform to "
            "Open Badges 3.0: " + "; ".join(problems)
        )
    try:
        # The signer runs the safe-mode check and refuses undefined terms.
        signed = signing.signer.sign(document)
    except Invalid as error:
        raise documents.Refusal(f"award {facts.award_id}: {error.detail}") from None
    return documents.serialize(signed)
