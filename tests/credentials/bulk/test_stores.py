"""Storing a bulk batch: a failure in storing reaches the caller as itself, and stops it."""

from __future__ import annotations

import threading

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from charter.core import clock
from charter.core.eventstore import HEAD_ID
from charter.core.ids import new_id
from charter.core.models import Event, EventChainHead
from charter.credentials.bulk import pipeline
from charter.credentials.models import IssuedCredential
from tests.credentials.factories import many_awards


@pytest.mark.parametrize("pool", [False, True], ids=["in-process", "process-pool"])
def test_a_failure_while_storing_stops_the_batch_with_the_database_error(
    db, system, issuing, monkeypatch, pool
):
    # On PostgreSQL a pooled batch is stored from a thread of its own: what fails there must
    # reach the caller as itself (not as the aborted transaction it leaves), and the thread
    # must be gone.
    made = many_awards(db, system, 12)
    if pool:
        monkeypatch.setattr(pipeline, "PROCESS_POOL_THRESHOLD", 4)
        monkeypatch.setattr(pipeline, "SIGN_CHUNK", 3)
        monkeypatch.setattr(pipeline, "STORE_CHUNKS", 1)
    head = db.get(EventChainHead, HEAD_ID)
    assert head is not None
    # An entry written past the head, as a broken writer would: the batch's fifth event
    # collides with it.
    db.add(
        Event(
            seq=head.seq + 5,
            id=new_id("evt"),
            occurred_at=clock.now(),
            actor_type="system",
            actor_id=None,
            type="test.collision",
            subject_type="test",
            subject_id="test",
            partner_id=None,
            payload={},
            prev_hash="0" * 64,
            hash="0" * 64,
        )
    )
    db.flush()
    with pytest.raises((sa_exc.IntegrityError, psycopg.IntegrityError)) as raised:
        pipeline.issue_credentials_bulk(db, system, made, issuing, workers=2)
    assert "events" in str(raised.value)
    assert not [t for t in threading.enumerate() if t.name == "charter-bulk-store"]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 0
