"""The migration that brings in the program's taxonomy keeps existing data valid, on a fresh
SQLite file and a fresh PostgreSQL database, from the revision before it."""

from __future__ import annotations

from sqlalchemy import text

from charter.db.engine import make_engine
from charter.db.migrate import upgrade

BEFORE = "8a3c5e7f9b12"


def test_the_default_lists_are_seeded_and_firms_keep_their_regions(empty_database):
    upgrade(empty_database, BEFORE)
    engine = make_engine(empty_database)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO partners (id, name, type, status, country, onboarding, listed, "
                    "created_at, updated_at) VALUES ('prt_old', 'Old Firm', 'var', 'active', "
                    "'DE', '{}', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text("INSERT INTO partner_regions (partner_id, region) VALUES ('prt_old', 'emea')")
            )
        upgrade(empty_database)
        with engine.connect() as connection:
            entries = connection.execute(
                text("SELECT kind, code, label FROM taxonomy_entries ORDER BY kind, position")
            ).all()
            countries = dict(
                connection.execute(
                    text("SELECT country, region FROM taxonomy_region_countries")
                ).all()
            )
            region = connection.execute(
                text("SELECT region FROM partner_regions WHERE partner_id = 'prt_old'")
            ).scalar_one()
    finally:
        engine.dispose()
    codes = {(kind, code) for kind, code, _ in entries}
    assert ("partner_type", "var") in codes
    assert ("region", "emea") in codes
    assert [code for kind, code, _ in entries if kind == "track"] == [
        "sales",
        "technical",
        "support",
        "specialty",
    ]
    assert region == "emea"
    assert countries["DE"] == "emea"
    assert countries["US"] == "na"
    assert countries["BR"] == "latam"
    assert countries["JP"] == "apac"
    assert "AQ" not in countries
    assert len(countries) >= 240
