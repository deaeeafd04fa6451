"""Walking the events log from its first entry to check that nothing was altered, removed or
moved: :func:`verify_chain` names the first entry at fault."""

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
    expected_seq, prev = 1, eventhash.GENESIS_HASH
    checked = 0
    for event in _stream(db):
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
    head = db.get(EventChainHead, eventstore.HEAD_ID)
    if head is not None and (head.seq != checked or head.hash != prev):
        if head.seq > checked:
            problem = f"entries #{checked + 1} to #{head.seq} are missing (removed from the end)"
        else:
            problem = "the chain head does not match the last entry"
        return ChainReport(False, checked, problem, checked + 1, None)
    return ChainReport(True, checked)
