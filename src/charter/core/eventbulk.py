"""Appending events made ahead, for bulk paths that make them in worker processes.

A bulk path renders its events where their payloads are made (:class:`events.Renderer`, which
pickles to a worker) and brings them back to be chained: through the session with
:func:`append_rendered`, or, on PostgreSQL, by holding the log (:class:`HeldLog`) and writing
the chained rows itself with :func:`copy_rows`, from a thread that stores beside the session.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from charter.core import events, eventstore
from charter.core.auth import Principal
from charter.db import bulk


def append_rendered(
    db: Session,
    actor: Principal,
    renderer: events.Renderer,
    rendered: Sequence[eventstore.RenderedValues],
) -> None:
    """Append events made by ``renderer`` (for ``actor``), in order, with one lock and one
    bulk insert: each is chained (sequence number, previous hash, hash) here."""
    if rendered:
        eventstore.insert_chained(db, actor, renderer.at, eventstore.lock_head(db), rendered)


class HeldLog:
    """The events log held locked by one transaction, for a bulk path that stores its events
    itself (PostgreSQL only): :meth:`chain` computes the rows, :func:`copy_rows` writes them.

    The head row moves in the session as entries are chained; it is written when the session
    next flushes, in the same transaction as the rows, whatever their order.
    """

    def __init__(self, db: Session, actor: Principal, renderer: events.Renderer) -> None:
        if db.get_bind().dialect.name != "postgresql":
            raise ValueError("a held events log is only for PostgreSQL")
        self._head = eventstore.lock_head(db)
        self._actor = actor
        self._renderer = renderer

    def chain(self, rendered: Sequence[eventstore.RenderedValues]) -> list[tuple[Any, ...]]:
        """Chain events made by this log's renderer after the head; their rows for
        :func:`copy_rows`, which the caller must write before the transaction commits."""
        if not rendered:
            return []
        head = self._head
        params, head.seq, head.hash = eventstore.chain_rows(
            self._actor, self._renderer.at, "postgresql", (head.seq, head.hash), rendered
        )
        return params


def copy_rows(driver: Any, rows: Iterable[Sequence[Any]]) -> None:
    """Write rows chained by :meth:`HeldLog.chain` on a psycopg connection with binary COPY."""
    bulk.copy_rows(driver, eventstore.EVENT_ROWS, rows)
