"""Walking the events log finds the first entry that was altered, removed or moved."""

from __future__ import annotations

from sqlalchemy import select, text, update

from charter.core import eventhash, eventverify
from charter.core.models import Event
from tests.core.factories import touch


def test_altering_an_entry_is_detected(db):
    touch(db, 6)
    db.commit()
    db.execute(update(Event).where(Event.seq == 4).values(payload={"index": 99, "note": "x"}))
    db.commit()
    report = eventverify.verify_chain(db)
    assert not report.ok
    assert report.seq == 4
    assert "altered" in (report.problem or "")


def test_removing_an_entry_is_detected(db):
    touch(db, 6)
    db.commit()
    db.execute(text("DELETE FROM events WHERE seq = 3"))
    db.commit()
    report = eventverify.verify_chain(db)
    assert not report.ok
    assert report.seq == 3
    assert "removed" in (report.problem or "")


def test_removing_the_last_entry_is_detected(db):
    touch(db, 4)
    db.commit()
    db.execute(text("DELETE FROM events WHERE seq = 4"))
    db.commit()
    report = eventverify.verify_chain(db)
    assert not report.ok
    assert report.seq == 4


def test_reordering_entries_is_detected(db):
    touch(db, 5)
    db.commit()
    # Swap the positions of entries 2 and 3.
    db.execute(text("UPDATE events SET seq = -1 WHERE seq = 2"))
    db.execute(text("UPDATE events SET seq = 2 WHERE seq = 3"))
    db.execute(text("UPDATE events SET seq = 3 WHERE seq = -1"))
    db.commit()
    report = eventverify.verify_chain(db)
    assert not report.ok
    assert report.seq == 2


def test_rewriting_an_entry_with_a_fresh_hash_breaks_the_next_link(db):
    touch(db, 5)
    db.commit()
    row = db.scalars(select(Event).where(Event.seq == 2)).one()
    forged = {name: getattr(row, name) for name in eventhash.HASHED_FIELDS}
    forged["payload"] = {"index": 1, "note": "forged"}
    db.execute(
        update(Event)
        .where(Event.seq == 2)
        .values(payload=forged["payload"], hash=eventhash.entry_hash(forged))
    )
    db.commit()
    report = eventverify.verify_chain(db)
    assert not report.ok
    assert report.seq == 3


def test_a_walk_can_start_at_a_trusted_entry_and_stop_at_a_given_head(db):
    touch(db, 6)
    db.commit()
    hashes = dict(db.execute(select(Event.seq, Event.hash)).all())
    report = eventverify.verify_chain(db, after=(3, hashes[3]), until=(5, hashes[5]))
    assert report.ok
    assert report.checked == 2
    # A start whose hash the log does not hold is caught at the next entry.
    wrong = eventverify.verify_chain(db, after=(3, hashes[2]))
    assert not wrong.ok
    assert wrong.seq == 4
    # A head the log does not reach is entries removed from the end.
    short = eventverify.verify_chain(db, after=(3, hashes[3]), until=(8, "f" * 64))
    assert not short.ok
    assert "#7 to #8 are missing" in (short.problem or "")
