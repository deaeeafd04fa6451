"""The events log: chained, verifiable, and linear under concurrent writers."""

from __future__ import annotations

import hashlib
import multiprocessing

import pytest
import rfc8785
from sqlalchemy import select

from charter.core import eventhash, events, eventverify
from charter.core.auth import Principal
from charter.core.models import Event
from charter.db.engine import make_engine, make_sessionmaker
from tests.core.factories import Thing, empty_log, sample_drafts, stored_log, touch


def test_a_fresh_chain_verifies(db):
    touch(db, 5)
    db.commit()
    report = eventverify.verify_chain(db)
    assert report.ok
    assert report.checked == 5


def test_each_entry_links_to_the_one_before(db):
    touch(db, 3)
    db.commit()
    rows = db.scalars(select(Event).order_by(Event.seq)).all()
    assert rows[0].prev_hash == eventhash.GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash
    assert rows[2].prev_hash == rows[1].hash
    assert [row.seq for row in rows] == [1, 2, 3]


def test_payload_datetimes_and_enums_are_stored_as_json(db, frozen_clock):
    from charter.core.auth import Role

    event = events.append(
        db,
        Principal.system(),
        "thing.touched",
        Thing("thg_1"),
        at=frozen_clock.now(),
        role=Role.ADMIN,
    )
    db.commit()
    assert event.payload == {"at": "2026-03-01T12:00:00Z", "role": "admin"}
    assert eventverify.verify_chain(db).ok


def _writer(url: str, rounds: int) -> None:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    for _ in range(rounds):
        with factory() as db, db.begin():
            touch(db, 2)
    engine.dispose()


def test_concurrent_writers_keep_one_linear_chain(engine, database_url, db):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(database_url, 15)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    report = eventverify.verify_chain(db)
    assert report.ok, report.problem
    assert report.checked == 4 * 15 * 2


@pytest.mark.parametrize("batch", [1, 250])
def test_append_many_chains_a_batch(db, batch):
    drafts = [events.Draft("thing.touched", "thing", f"thg_{i}", {"i": i}) for i in range(batch)]
    appended = events.append_many(db, Principal.system(), drafts)
    db.commit()
    assert len(appended) == batch
    assert eventverify.verify_chain(db).checked == batch


def test_bulk_appended_events_are_identical_to_singly_appended_ones(db, frozen_clock, monkeypatch):
    counter = iter(range(10**6))
    monkeypatch.setattr(events, "new_id", lambda prefix: f"{prefix}_{next(counter):026d}")
    actor = Principal.system("tests")
    for draft in sample_drafts():
        thing = Thing(draft.subject_id)
        events.append(db, actor, draft.type, thing, partner_id=draft.partner_id, **draft.payload)
    db.commit()
    single = stored_log(db)
    empty_log(db)
    counter = iter(range(10**6))
    events.append_many(db, actor, sample_drafts())
    db.commit()
    bulk = stored_log(db)
    assert bulk == single
    assert eventverify.verify_chain(db).ok


def test_bulk_appended_hashes_match_the_reference_canonicalization(db, frozen_clock):
    appended = events.append_many(db, Principal.system("tests"), sample_drafts())
    db.commit()
    for row, stored in zip(appended, stored_log(db), strict=True):
        document = {name: row[name] for name in eventhash.HASHED_FIELDS}
        document["occurred_at"] = "2026-03-01T12:00:00.000000Z"
        expected = hashlib.sha256(rfc8785.dumps(document)).hexdigest()
        assert row["hash"] == stored[-1] == expected
        assert stored[eventhash.HASHED_FIELDS.index("payload")] == row["payload"]


def test_plain_payloads_are_serialized_once(db, monkeypatch):
    # One canonical text serves the hash and the stored column; the general path (which
    # serializes the whole entry) is left to payloads the standard library cannot render.
    general: list[object] = []
    real = eventhash.entry_hash
    monkeypatch.setattr(eventhash, "entry_hash", lambda entry: general.append(entry) or real(entry))
    appended = events.append_many(db, Principal.system("tests"), sample_drafts())
    db.commit()
    assert len(general) == 6  # the float payload, three times, with and without a partner
    assert all(entry["payload"]["float"] == 1.5 for entry in general)
    assert len(appended) == 30
    assert eventverify.verify_chain(db).ok


def test_payload_text_rendered_by_the_caller_gives_the_same_entries(db, frozen_clock, monkeypatch):
    counter = iter(range(10**6))
    monkeypatch.setattr(events, "new_id", lambda prefix: f"{prefix}_{next(counter):026d}")
    actor = Principal.system("tests")
    events.append_many(db, actor, sample_drafts())
    db.commit()
    plain = stored_log(db)
    empty_log(db)
    counter = iter(range(10**6))
    rendered = [
        events.Draft(
            draft.type,
            draft.subject_type,
            draft.subject_id,
            draft.payload,
            draft.partner_id,
            eventhash.canonical_payload_text(dict(draft.payload)),
        )
        for draft in sample_drafts()
    ]
    assert sum(draft.payload_text is None for draft in rendered) == 6  # the float payloads
    events.append_many(db, actor, rendered)
    db.commit()
    assert stored_log(db) == plain
    assert eventverify.verify_chain(db).ok
