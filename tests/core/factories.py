"""Events for tests: a subject, payloads that cover every rendering path, and the stored log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from charter.core import events, eventstore
from charter.core.auth import Principal
from charter.core.models import Event


@dataclass
class Thing:
    """A subject of events that is no table."""

    id: str
    __event_subject__ = "thing"


def touch(db: Session, n: int, actor: Principal | None = None) -> None:
    """Append ``n`` events one at a time."""
    actor = actor or Principal.system("tests")
    for index in range(n):
        events.append(db, actor, "thing.touched", Thing(f"thg_{index}"), index=index, note="é✓")


PAYLOADS = [
    {"award_id": "awd_1", "index": 7, "until": None, "flag": True},
    {"zeta": 1, "alpha": {"nested": [1, "two", None, {"b": 2, "a": 1}]}, "big": 2**53 - 1},
    {"note": 'é✓ "quoted" \\ back\nline\ttab\x01\x7f', "emoji": "🎉", "empty": {}},
    {"float": 1.5, "ümlaut": "key"},  # the general (reference) path
    {},
]


def sample_drafts() -> list[events.Draft]:
    """Every payload of :data:`PAYLOADS`, three times, with and without a partner."""
    return [
        events.Draft("thing.touched", "thing", f"thg_{index}", payload, partner)
        for index, payload in enumerate(PAYLOADS * 3)
        for partner in (None, "ptn_1")
    ]


def empty_log(db: Session) -> None:
    """Remove every entry and the chain head (committed)."""
    db.execute(text("DELETE FROM events"))
    db.execute(text("DELETE FROM event_chain_head"))
    db.commit()
    db.expunge_all()


def stored_log(db: Session) -> list[tuple[object, ...]]:
    """Every entry as stored, in order."""
    rows = db.execute(select(Event).order_by(Event.seq)).scalars().all()
    return [tuple(getattr(row, name) for name in eventstore.COLUMNS) for row in rows]
