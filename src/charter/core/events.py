"""The events log: every state change, appended in the caller's transaction.

Services call :func:`append` (or :func:`append_many` for a batch) beside the change they make;
the entry is chained by SHA-256 to the one before it under the log's lock
(:mod:`charter.core.eventstore`), so the log is the audit trail and the outbox at once. How an
entry is hashed is :mod:`charter.core.eventhash`; walking the chain to check it is
:mod:`charter.core.eventverify`; bulk paths that make their events in other processes use
:mod:`charter.core.eventbulk`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from charter.core import clock, eventhash, eventstore
from charter.core.auth import Principal
from charter.core.ids import new_id
from charter.core.models import Event


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
    """The payload's canonical text (:func:`charter.core.eventhash.canonical_payload_text`)
    when the caller rendered it already (bulk paths render it where the payload is made); None
    to render it here."""


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
    head = eventstore.lock_head(db)  # first: no event appended after ours can carry an earlier time
    renderer = Renderer.of(actor, clock.now())
    rendered = [renderer.render(draft) for draft in drafts]
    chained = eventstore.insert_chained(db, actor, renderer.at, head, rendered)
    return [
        {
            **dict(zip(eventstore.COLUMNS, values, strict=True)),
            "occurred_at": renderer.at,
            "payload": item.payload,
        }
        for values, item in zip(chained, rendered, strict=True)
    ]


def _draft_payload(draft: Draft) -> tuple[dict[str, Any], str | None]:
    """A draft's payload and canonical text: the caller's text when it rendered one."""
    if draft.payload_text is None:
        return eventhash.payload_and_text(draft.payload)
    given = draft.payload
    return (given if type(given) is dict else dict(given)), draft.payload_text


@dataclass(frozen=True, slots=True)
class Renderer:
    """Makes events ahead of their append, for bulk paths that do it in worker processes.

    Everything an entry's hash covers is rendered here except the chain's part (previous hash
    and sequence number), which :mod:`charter.core.eventstore` adds under the log's lock.
    Picklable: a bulk path sends one to each worker.
    """

    shared: eventhash.SharedText
    at: datetime

    @classmethod
    def of(cls, actor: Principal, at: datetime) -> Renderer:
        """A renderer for events by ``actor`` that occur at ``at``."""
        return cls(eventhash.SharedText.of(actor, eventhash.hashed_timestamp(at)), at)

    def render(self, draft: Draft) -> eventstore.Rendered:
        """The event of ``draft``, with a fresh id, ready to be chained."""
        payload, payload_text = _draft_payload(draft)
        identity = new_id("evt")
        parts = (
            None
            if payload_text is None
            else eventhash.text_parts(
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
        return eventstore.Rendered(
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
