"""Bulk writes: one mechanism for every table, each caller's own columns and types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from charter.core import eventstore
from charter.core.models import Event
from charter.db import bulk

AT = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
ROWS = bulk.BulkTable(
    "events",
    eventstore.COLUMNS,
    ("int8", "varchar", "timestamptz", *["varchar"] * 6, "jsonb", "varchar", "varchar"),
)


def test_a_table_needs_one_copy_type_per_column():
    with pytest.raises(ValueError, match="one COPY type per column"):
        bulk.BulkTable("things", ("id", "name"), ("varchar",))


def test_timestamps_are_bound_in_utc_and_as_sqlite_stores_them():
    local = AT.astimezone(timezone(timedelta(hours=2)))
    assert bulk.bound_time(local, "sqlite") == "2026-03-01 12:30:05.123456"
    assert bulk.bound_time(local, "postgresql") == AT
    assert bulk.bound_time(None, "sqlite") is None


def test_rows_are_written_with_their_json_text_as_json(db):
    # Written far past any real entry (and rolled back): only the mechanism is tested here.
    dialect = db.get_bind().dialect.name
    rows = [
        (
            10**9 + n,
            f"evt_bulk_{n}",
            bulk.bound_time(AT, dialect),
            "system",
            None,
            "thing.touched",
            "thing",
            f"thg_{n}",
            None,
            f'{{"n":{n},"note":"é✓"}}',
            "0" * 64,
            "0" * 64,
        )
        for n in range(3)
    ]
    bulk.insert_rows(db, ROWS, rows)
    bulk.insert_rows(db, ROWS, [])
    stored = db.scalars(select(Event).where(Event.seq >= 10**9).order_by(Event.seq)).all()
    assert [event.payload for event in stored] == [{"n": n, "note": "é✓"} for n in range(3)]
    assert all(event.occurred_at == AT for event in stored)
    db.rollback()
