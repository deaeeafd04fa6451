"""Bulk issuance: credentials for many awards, signed in worker processes and stored in bulk.

This process loads the data, hands out status indexes and writes; the documents are built,
checked against the OB 3.0 schema and safe mode, canonicalized and signed in the pool
(:mod:`charter.credentials.bulk.signing`). The work is pipelined over slices of awards: while
the workers sign one, this process prepares the next and stores the chunks already signed
(:mod:`charter.credentials.bulk.stores`), all in the caller's transaction.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import NamedTuple, Protocol

from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import NoProgress, Progress
from charter.core.errors import Invalid
from charter.credentials import documents, issuance, sources, status
from charter.credentials.bulk import stores
from charter.credentials.bulk.signing import (
    ROW_ID,
    Batch,
    BulkItem,
    Chunk,
    Signed,
    Signing,
    issue_chunk,
    sign_chunk,
    start_pool,
)
from charter.credentials.documents import AwardLike
from charter.crypto import keyring

PROCESS_POOL_THRESHOLD = 200
"""Batches at least this large are signed in a process pool; smaller ones in this process."""
SIGN_CHUNK = 250
"""Documents per task sent to a signing worker."""
MAX_SLICE = 16_000
"""Most awards prepared at a time (holders loaded, status indexes handed out) in bulk issuance.

Each slice costs a pass over the status lists, so slices grow (from one chunk per worker,
doubling) to keep those passes few, while the workers sign the previous slice."""
STORE_CHUNKS = 8
"""Most signed chunks stored together (one insert and one events append for all of them)."""


class AwardFacts(NamedTuple):
    """An award's facts without its row: what bulk paths that inserted awards with Core pass,
    and what bulk issuance reads each award into once.

    A plain tuple: bulk issuance reads each award's fields several times (loading its holder
    and programs, checking it, building its signing item), and an ORM attribute read costs
    several times a tuple field's.
    """

    id: str
    certification_id: str
    criteria_version_id: str
    person_id: str | None
    partner_id: str | None
    issued_at: datetime
    valid_until: datetime


def issue_credentials_bulk(
    db: Session,
    actor: Principal,
    awards: Sequence[AwardLike],
    settings: Settings,
    workers: int = 2,
    *,
    progress: Progress | None = None,
) -> list[str]:
    """Issue credentials for many awards, signing in ``workers`` processes; returns new ids.

    Idempotent: awards that already have a live credential are skipped. Every credential is
    the one :func:`charter.credentials.issuance.issue_credential` would sign for the same ids,
    times and status entries, with the same ``credential.issued`` event.
    """
    actor.require(Permission.AWARDS_ISSUE)
    with _frozen_heap():
        return _issue(db, actor, awards, settings, workers, progress or NoProgress())


def _issue(
    db: Session,
    actor: Principal,
    awards: Sequence[AwardLike],
    settings: Settings,
    workers: int,
    progress: Progress,
) -> list[str]:
    # The batch's first slice waits for these passes over every award, and the workers wait
    # for it: each id is read once.
    by_id: dict[str, AwardLike] = {}
    for award in awards:
        by_id.setdefault(award.id, award)  # the first of repeated ids, in order
    live = issuance.live_for(db, by_id)
    todo = [_facts(award) for award_id, award in by_id.items() if award_id not in live]
    if not todo:
        return []
    issuance.lock_order(db, actor)  # held from here on: no event can be appended between ours
    issued_at = clock.now()
    signer = keyring.active_signer(db, settings)
    programs = sources.load_programs(db, todo)
    batch = Batch(
        settings=settings,
        issuer=documents.issuer_profile(settings, signer.controller),
        achievements=documents.achievements(settings, programs),
        verification_method=signer.verification_method,
        signing_key_id=signer.key_id,
        created=issued_at,
        dialect=db.get_bind().dialect.name,
        events=events.Renderer.of(actor, issued_at),
    )
    progress.phase(f"signing {len(todo):,} credentials", len(todo))
    workers = _workers(workers)
    # Even one worker process pays: this process stores while it signs.
    pooled = len(todo) >= PROCESS_POOL_THRESHOLD
    created: list[str] = []
    try:
        if pooled:
            with start_pool(workers, signer, batch) as pool:
                _pipeline(db, actor, todo, batch, programs, pool, workers, created, progress)
        else:
            local = Signing.of(signer.private_key, batch)
            _pipeline(db, actor, todo, batch, programs, local, 1, created, progress)
    except documents.Refusal as refusal:
        raise Invalid(str(refusal)) from None
    db.flush()
    return created


def _facts(award: AwardLike) -> AwardFacts:
    if isinstance(award, AwardFacts):
        return award
    return AwardFacts(
        award.id,
        award.certification_id,
        award.criteria_version_id,
        award.person_id,
        award.partner_id,
        award.issued_at,
        award.valid_until,
    )


def _workers(requested: int) -> int:
    return max(1, min(requested, os.cpu_count() or 1))


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Leave the objects that exist now out of garbage collection until the batch is stored.

    A large batch allocates a few objects per award (its facts, signing items, rows) while
    the caller's rows (often as many ORM objects as awards) stay alive; every full collection
    would walk them all again (reading 100,000 awards' facts took four times as long). Freezing
    them first (which also keeps forked workers from touching those pages) and unfreezing
    after defers nothing but their collection.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Pending(Protocol):
    """A chunk being signed: a pool's future, or a chunk already signed in this process."""

    def done(self) -> bool: ...
    def result(self) -> Signed: ...


class _Done:
    """A chunk signed in this process."""

    def __init__(self, result: Signed) -> None:
        self._result = result

    def done(self) -> bool:
        return True

    def result(self) -> Signed:
        return self._result


def _pipeline(
    db: Session,
    actor: Principal,
    todo: list[AwardFacts],
    batch: Batch,
    programs: documents.Programs,
    signing: ProcessPoolExecutor | Signing,
    workers: int,
    created: list[str],
    progress: Progress,
) -> None:
    pending: deque[_Pending] = deque()
    size = SIGN_CHUNK * workers
    start = 0
    store: stores.Store | None = None
    try:
        while start < len(todo):
            part = todo[start : start + size]
            start += len(part)
            for items in _prepare(db, part, batch, programs):
                if isinstance(signing, Signing):
                    pending.append(_Done(sign_chunk(signing, items)))
                else:
                    pending.append(signing.submit(issue_chunk, Chunk(items)))
            # Made once the pool's processes exist: a store may start a thread, and a process
            # must not fork while another thread runs.
            pooled = not isinstance(signing, Signing)
            store = store or stores.store_for(db, actor, batch, pooled=pooled)
            # Store what is signed, but keep this slice queued: the workers sign it while the
            # next one is prepared.
            reserve = max(len(part) // SIGN_CHUNK, 2 * workers)
            while pending and (len(pending) > reserve or pending[0].done()):
                _store_next(store, pending, created, progress)
            size = min(2 * size, MAX_SLICE)
        while pending:
            assert store is not None  # made with the first slice
            _store_next(store, pending, created, progress)
    except BaseException:
        failure = store.abandon() if store is not None else None
        if failure is not None:
            # What went wrong first: this thread's error is then only the aborted transaction.
            raise failure from None
        raise
    if store is not None:
        store.close()


def _prepare(
    db: Session, part: Sequence[AwardFacts], batch: Batch, programs: documents.Programs
) -> list[list[BulkItem]]:
    """Chunks of items for a slice of awards: holders loaded, status indexes handed out."""
    holders = sources.load_holders(db, part)
    for award in part:
        documents.check_issuable(award, programs, holders)
    controller = batch.issuer.id
    revocations = status.allocate_many(db, "revocation", len(part), controller=controller)
    suspensions = status.allocate_many(db, "suspension", len(part), controller=controller)
    chunked: list[list[BulkItem]] = []
    for begin in range(0, len(part), SIGN_CHUNK):
        items: list[BulkItem] = []
        for offset in range(begin, min(begin + SIGN_CHUNK, len(part))):
            award = part[offset]
            person_id = award.person_id
            assert person_id is not None  # check_issuable
            revocation, suspension = revocations[offset], suspensions[offset]
            items.append(
                BulkItem(
                    award.id,
                    documents.achievement_key(award),
                    holders.emails[person_id],
                    holders.dids.get(person_id),
                    award.issued_at,
                    award.valid_until,
                    revocation[0].id,
                    revocation[1],
                    suspension[0].id,
                    suspension[1],
                    person_id,
                    award.partner_id,
                )
            )
        chunked.append(items)
    return chunked


def _store_next(
    store: stores.Store, pending: deque[_Pending], created: list[str], progress: Progress
) -> None:
    """Store the oldest pending chunk, with those after it already signed: their credential
    rows and their events, in one round of statements (each round costs a few round trips and
    the events log's lock however many rows it holds)."""
    rows, rendered = pending.popleft().result()
    taken = 1
    while pending and taken < STORE_CHUNKS and pending[0].done():
        signed, signed_events = pending.popleft().result()
        rows = rows + signed
        rendered = rendered + signed_events
        taken += 1
    store.put(rows, rendered)
    created.extend(row[ROW_ID] for row in rows)
    progress.advance(len(rows))
