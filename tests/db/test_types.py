"""Shared column types: datetimes come back aware and in UTC on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select, text
from sqlalchemy.engine import Engine

from charter.db.base import UTCDateTime

metadata = MetaData()
moments = Table(
    "test_moments",
    metadata,
    Column("id", String(10), primary_key=True),
    Column("at", UTCDateTime(), nullable=True),
)


@pytest.fixture
def table(engine: Engine):  # type: ignore[no-untyped-def]
    metadata.create_all(engine)
    yield moments
    metadata.drop_all(engine)


def test_datetimes_come_back_aware_in_utc(engine: Engine, table) -> None:
    paris = timezone(timedelta(hours=2))
    written = {
        "utc": datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC),
        "offset": datetime(2026, 3, 1, 11, 30, tzinfo=paris),
        "whole": datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    }
    with engine.begin() as connection:
        connection.execute(insert(table), [{"id": k, "at": v} for k, v in written.items()])
        connection.execute(insert(table).values(id="none", at=None))
        read = dict(connection.execute(select(table.c.id, table.c.at)).all())

    assert read["none"] is None
    for name, value in written.items():
        assert read[name] == value
        assert read[name].utcoffset() == timedelta(0), name


def test_sqlite_text_written_with_a_zone_of_its_own_is_read_in_utc(
    engine: Engine, backend: str, table
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite keeps datetimes as text")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO test_moments (id, at) VALUES ('zoned', '2026-03-01 11:30:00+02:00')")
        )
        connection.execute(
            text("INSERT INTO test_moments (id, at) VALUES ('plain', '2026-03-01 09:30:00')")
        )
        read = dict(connection.execute(select(table.c.id, table.c.at)).all())

    assert read["zoned"] == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert read["plain"] == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert all(value.tzinfo is UTC for value in read.values())


def test_naive_datetimes_are_refused(engine: Engine, table) -> None:
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as connection:
        connection.execute(insert(table).values(id="naive", at=datetime(2026, 3, 1)))
