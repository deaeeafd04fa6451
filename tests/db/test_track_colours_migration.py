"""The migration that gives tracks their badge colour keeps the colours the default tracks were
drawn in and leaves a program's own tracks to the palette, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from charter.db.engine import make_engine
from charter.db.migrate import upgrade

BEFORE = "c4e9a1d7b350"


def test_the_default_tracks_keep_their_colours(empty_database):
    upgrade(empty_database, BEFORE)
    engine = make_engine(empty_database)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO taxonomy_entries (kind, code, label, position, retired, "
                    "created_at, updated_at) VALUES ('track', 'presales', 'Presales', 5, false, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(empty_database)
        with engine.connect() as connection:
            colours = dict(
                connection.execute(
                    text("SELECT code, colour FROM taxonomy_entries WHERE kind = 'track'")
                ).all()
            )
            others = connection.execute(
                text("SELECT DISTINCT colour FROM taxonomy_entries WHERE kind <> 'track'")
            ).all()
    finally:
        engine.dispose()
    assert colours == {
        "sales": "#b54708",
        "technical": "#1f6feb",
        "support": "#1f7a4d",
        "specialty": "#6941c6",
        "presales": None,
    }
    assert others == [(None,)]
