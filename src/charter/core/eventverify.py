"""Walking the events log to check that nothing was altered, removed or moved:
:func:`verify_chain` names the first entry at fault, from the start or from a trusted entry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import eventhash, eventstore
from charter.core.models import Event, EventChainHead


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of walking the chain."""

    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None
    event_id: str | None = None


def _stream(db: Session, after: int, until: int | None, batch: int = 5000) -> Iterator[Event]:
    last = after
    while True:
        query = select(Event).where(Event.seq > last)
        if until is not None:
            query = query.where(Event.seq <= until)
        page = db.execute(query.order_by(Event.seq).limit(batch)).scalars().all()
        if not page:
            return
        yield from page
        last = page[-1].seq
        db.expunge_all()


def verify_chain(
    db: Session,
    *,
    after: tuple[int, str] = (0, eventhash.GENESIS_HASH),
    until: tuple[int, str] | None = None,
) -> ChainReport:
    """Walk the log to its head; report the first entry that was altered, removed or moved.

    ``after`` is the entry the walk trusts (its sequence number and hash), the start of the log
    by default; a signed checkpoint lets a walk start there instead. ``until`` is the head to
    walk to, read beforehand (its sequence number and hash), so that entries appended during
    the walk are left for the next one; the head as it is at the end of the walk by default.
    """
    expected_seq, prev = after[0] + 1, after[1]
    checked = 0
    for event in _stream(db, after[0], None if until is None else until[0]):
        recomputed = eventhash.entry_hash(
            {name: getattr(event, name) for name in eventhash.HASHED_FIELDS}
        )
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
    last = after[0] + checked
    if until is None:
        head = db.get(EventChainHead, eventstore.HEAD_ID)
        until = None if head is None else (head.seq, head.hash)
    if until is not None and until != (last, prev):
        if until[0] > last:
            problem = f"entries #{last + 1} to #{until[0]} are missing (removed from the end)"
        else:
            problem = "the chain head does not match the last entry"
        return ChainReport(False, checked, problem, last + 1, None)
    return ChainReport(True, checked)
