"""The events log: chained, verifiable, and linear under concurrent writers."""

from __future__ import annotations

import hashlib
import multiprocessing
from dataclasses import dataclass

import pytest
import rfc8785
from sqlalchemy import select, text, update

from charter.core import events
from charter.core.auth import Principal
from charter.core.models import Event
from charter.db.engine import make_engine, make_sessionmaker


@dataclass
class Thing:
    id: str
    __event_subject__ = "thing"


def _append(db, n: int, actor: Principal | None = None) -> None:
    actor = actor or Principal.system("tests")
    for index in range(n):
        events.append(db, actor, "thing.touched", Thing(f"thg_{index}"), index=index, note="é✓")


def test_a_fresh_chain_verifies(db):
    _append(db, 5)
    db.commit()
    report = events.verify_chain(db)
    assert report.ok
    assert report.checked == 5


def test_each_entry_links_to_the_one_before(db):
    _append(db, 3)
    db.commit()
    rows = db.scalars(select(Event).order_by(Event.seq)).all()
    assert rows[0].prev_hash == events.GENESIS_HASH
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
    assert events.verify_chain(db).ok


def test_altering_an_entry_is_detected(db):
    _append(db, 6)
    db.commit()
    db.execute(update(Event).where(Event.seq == 4).values(payload={"index": 99, "note": "x"}))
    db.commit()
    report = events.verify_chain(db)
    assert not report.ok
    assert report.seq == 4
    assert "altered" in (report.problem or "")


def test_removing_an_entry_is_detected(db):
    _append(db, 6)
    db.commit()
    db.execute(text("DELETE FROM events WHERE seq = 3"))
    db.commit()
    report = events.verify_chain(db)
    assert not report.ok
    assert report.seq == 3
    assert "removed" in (report.problem or "")


def test_removing_the_last_entry_is_detected(db):
    _append(db, 4)
    db.commit()
    db.execute(text("DELETE FROM events WHERE seq = 4"))
    db.commit()
    report = events.verify_chain(db)
    assert not report.ok
    assert report.seq == 4


def test_reordering_entries_is_detected(db):
    _append(db, 5)
    db.commit()
    # Swap the positions of entries 2 and 3.
    db.execute(text("UPDATE events SET seq = -1 WHERE seq = 2"))
    db.execute(text("UPDATE events SET seq = 2 WHERE seq = 3"))
    db.execute(text("UPDATE events SET seq = 3 WHERE seq = -1"))
    db.commit()
    report = events.verify_chain(db)
    assert not report.ok
    assert report.seq == 2


def test_rewriting_an_entry_with_a_fresh_hash_breaks_the_next_link(db):
    _append(db, 5)
    db.commit()
    row = db.scalars(select(Event).where(Event.seq == 2)).one()
    forged = {name: getattr(row, name) for name in events.HASHED_FIELDS}
    forged["payload"] = {"index": 1, "note": "forged"}
    db.execute(
        update(Event)
        .where(Event.seq == 2)
        .values(payload=forged["payload"], hash=events.entry_hash(forged))
    )
    db.commit()
    report = events.verify_chain(db)
    assert not report.ok
    assert report.seq == 3


def _writer(url: str, rounds: int) -> None:
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    for _ in range(rounds):
        with factory() as db, db.begin():
            _append(db, 2)
    engine.dispose()


def test_concurrent_writers_keep_one_linear_chain(engine, database_url, db):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(database_url, 15)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    report = events.verify_chain(db)
    assert report.ok, report.problem
    assert report.checked == 4 * 15 * 2


@pytest.mark.parametrize("batch", [1, 250])
def test_append_many_chains_a_batch(db, batch):
    drafts = [events.Draft("thing.touched", "thing", f"thg_{i}", {"i": i}) for i in range(batch)]
    appended = events.append_many(db, Principal.system(), drafts)
    db.commit()
    assert len(appended) == batch
    assert events.verify_chain(db).checked == batch


_PAYLOADS = [
    {"award_id": "awd_1", "index": 7, "until": None, "flag": True},
    {"zeta": 1, "alpha": {"nested": [1, "two", None, {"b": 2, "a": 1}]}, "big": 2**53 - 1},
    {"note": 'é✓ "quoted" \\ back\nline\ttab\x01\x7f', "emoji": "🎉", "empty": {}},
    {"float": 1.5, "ümlaut": "key"},  # the general (reference) path
    {},
]


def _drafts() -> list[events.Draft]:
    return [
        events.Draft("thing.touched", "thing", f"thg_{index}", payload, partner)
        for index, payload in enumerate(_PAYLOADS * 3)
        for partner in (None, "ptn_1")
    ]


def _empty_log(db) -> None:
    db.execute(text("DELETE FROM events"))
    db.execute(text("DELETE FROM event_chain_head"))
    db.commit()
    db.expunge_all()


def _stored(db) -> list[tuple]:
    rows = db.execute(select(Event).order_by(Event.seq)).scalars().all()
    return [tuple(getattr(row, name) for name in (*events.HASHED_FIELDS, "hash")) for row in rows]


def test_bulk_appended_events_are_identical_to_singly_appended_ones(db, frozen_clock, monkeypatch):
    counter = iter(range(10**6))
    monkeypatch.setattr(events, "new_id", lambda prefix: f"{prefix}_{next(counter):026d}")
    actor = Principal.system("tests")
    for draft in _drafts():
        thing = Thing(draft.subject_id)
        events.append(db, actor, draft.type, thing, partner_id=draft.partner_id, **draft.payload)
    db.commit()
    single = _stored(db)
    _empty_log(db)
    counter = iter(range(10**6))
    events.append_many(db, actor, _drafts())
    db.commit()
    bulk = _stored(db)
    assert bulk == single
    assert events.verify_chain(db).ok


def test_bulk_appended_hashes_match_the_reference_canonicalization(db, frozen_clock):
    appended = events.append_many(db, Principal.system("tests"), _drafts())
    db.commit()
    for row, stored in zip(appended, _stored(db), strict=True):
        document = {name: row[name] for name in events.HASHED_FIELDS}
        document["occurred_at"] = "2026-03-01T12:00:00.000000Z"
        expected = hashlib.sha256(rfc8785.dumps(document)).hexdigest()
        assert row["hash"] == stored[-1] == expected
        assert stored[events.HASHED_FIELDS.index("payload")] == row["payload"]


def test_plain_payloads_are_serialized_once(db, monkeypatch):
    # One canonical text serves the hash and the stored column; the general path (which
    # serializes the whole entry) is left to payloads the standard library cannot render.
    general: list[object] = []
    real = events.entry_hash
    monkeypatch.setattr(events, "entry_hash", lambda entry: general.append(entry) or real(entry))
    appended = events.append_many(db, Principal.system("tests"), _drafts())
    db.commit()
    assert len(general) == 6  # the float payload, three times, with and without a partner
    assert all(entry["payload"]["float"] == 1.5 for entry in general)
    assert len(appended) == 30
    assert events.verify_chain(db).ok


def test_payload_text_rendered_by_the_caller_gives_the_same_entries(db, frozen_clock, monkeypatch):
    counter = iter(range(10**6))
    monkeypatch.setattr(events, "new_id", lambda prefix: f"{prefix}_{next(counter):026d}")
    actor = Principal.system("tests")
    events.append_many(db, actor, _drafts())
    db.commit()
    plain = _stored(db)
    _empty_log(db)
    counter = iter(range(10**6))
    rendered = [
        events.Draft(
            draft.type,
            draft.subject_type,
            draft.subject_id,
            draft.payload,
            draft.partner_id,
            events.canonical_payload_text(dict(draft.payload)),
        )
        for draft in _drafts()
    ]
    assert sum(draft.payload_text is None for draft in rendered) == 6  # the float payloads
    events.append_many(db, actor, rendered)
    db.commit()
    assert _stored(db) == plain
    assert events.verify_chain(db).ok


def test_events_rendered_ahead_give_the_same_entries(db, frozen_clock, monkeypatch):
    # Bulk paths render events in worker processes and only chain them under the lock: the
    # entries must be those append_many writes, the general path included (float payloads),
    # and the renderer must survive pickling to a worker.
    import pickle

    counter = iter(range(10**6))
    monkeypatch.setattr(events, "new_id", lambda prefix: f"{prefix}_{next(counter):026d}")
    actor = Principal.system("tests")
    drafts = _drafts()
    events.append_many(db, actor, drafts)
    db.commit()
    expected = _stored(db)
    _empty_log(db)
    counter = iter(range(10**6))
    renderer = pickle.loads(pickle.dumps(events.Renderer.of(actor, events.clock.now())))
    rendered = [renderer.render(draft) for draft in drafts]
    assert sum(item[-1] is None for item in rendered) == 6  # hashed the general way
    events.append_rendered(db, actor, renderer, rendered[:10])
    events.append_rendered(db, actor, renderer, rendered[10:])
    db.commit()
    assert _stored(db) == expected
    assert events.verify_chain(db).ok
