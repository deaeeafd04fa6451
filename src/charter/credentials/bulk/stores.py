"""Where bulk issuance's signed chunks go: their credential rows and their events, written in
the caller's transaction through the session, or on PostgreSQL from a thread of their own."""

from __future__ import annotations

import queue
import threading
from typing import Any, Protocol

from sqlalchemy.orm import Session

from charter.core import eventbulk
from charter.core.auth import Principal
from charter.credentials.bulk.signing import CREDENTIAL_ROWS, Batch, RenderedValues, RowValues
from charter.db import bulk


class Store(Protocol):
    """Where signed chunks go: their credential rows and their events."""

    def put(self, rows: RowValues, rendered: RenderedValues) -> None:
        """Store (or queue for storing) signed rows and their events, in order."""

    def close(self) -> None:
        """Wait for everything put to be stored; raise what failed."""

    def abandon(self) -> BaseException | None:
        """Stop storing (the batch failed); what failed in storing, if anything did."""


def store_for(db: Session, actor: Principal, batch: Batch, *, pooled: bool) -> Store:
    """The store for a batch: from a thread of its own when workers sign on PostgreSQL."""
    if pooled and batch.dialect == "postgresql":
        return BackgroundStore(db, actor, batch)
    return SessionStore(db, actor, batch)


class SessionStore:
    """Stores each chunk through the session, before :meth:`put` returns."""

    def __init__(self, db: Session, actor: Principal, batch: Batch) -> None:
        self._db, self._actor, self._batch = db, actor, batch

    def put(self, rows: RowValues, rendered: RenderedValues) -> None:
        """Insert the rows, then append their events."""
        bulk.insert_rows(self._db, CREDENTIAL_ROWS, rows)
        eventbulk.append_rendered(self._db, self._actor, self._batch.events, rendered)

    def close(self) -> None:
        """Nothing is pending: each chunk was stored when it was put."""

    def abandon(self) -> BaseException | None:
        """Nothing runs beside the caller: no failure of its own to report."""
        return None


class BackgroundStore:
    """Stores chunks on PostgreSQL from a thread of its own, in the caller's transaction.

    Storing is the batch's critical path: this process chains the events and prepares the next
    slice while the server inserts the last one, instead of waiting for it. The thread only
    runs COPY on the session's driver connection, which psycopg serializes with the session's
    own statements (a connection runs one operation at a time, whichever thread asks), so the
    session stays this thread's alone. :meth:`close` waits for every chunk and raises what
    failed; events are chained here, in order, whatever order the server gets them in.
    """

    def __init__(self, db: Session, actor: Principal, batch: Batch) -> None:
        self._log = eventbulk.HeldLog(db, actor, batch.events)
        self._driver: Any = db.connection().connection.driver_connection
        # Two chunks queued at most: enough to keep the server busy, and a failure stops the
        # batch soon after it happens.
        self._queue: queue.Queue[tuple[RowValues, list[tuple[Any, ...]]] | None]
        self._queue = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="charter-bulk-store", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            if self._failure is not None or self._abandoned:
                continue  # drained, not run: the transaction is lost anyway
            rows, event_rows = job
            try:
                bulk.copy_rows(self._driver, CREDENTIAL_ROWS, rows)
                eventbulk.copy_rows(self._driver, event_rows)
            except BaseException as failure:  # handed to the caller's thread
                self._failure = failure

    def put(self, rows: RowValues, rendered: RenderedValues) -> None:
        """Chain the events and queue both for the thread; raise what failed there already."""
        self._raise_failure()
        self._queue.put((rows, self._log.chain(rendered)))

    def close(self) -> None:
        """Wait for the thread to store every queued chunk; raise what failed."""
        self._queue.put(None)
        self._thread.join()
        self._raise_failure()

    def abandon(self) -> BaseException | None:
        """Stop the thread, dropping what is queued; what failed in it, if anything did."""
        self._abandoned = True
        self._queue.put(None)
        self._thread.join()
        return self._failure

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
