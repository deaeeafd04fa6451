"""Tier evaluation: the full sweep against one SQL aggregate, and one firm after one change.

``python -m bench tiers [--firms N] [--small N]``. On PostgreSQL, generates N firms with 20
people each and 5 awards per person (10,000 firms, 200,000 people and 1,000,000 awards by
default), written with COPY straight into the tables (not timed), plus a three-tier scheme
that needs per-track and per-certification counts, onboarding, standing and a track record.
Then it measures, in the same run:

- the floor: one SQL aggregate counting distinct active certified people per firm and track,
  with every row fetched;
- the first full sweep (every firm gets its standing and its signed firm badge);
- the steady full sweep (nothing changed: reads and evaluates every firm, writes nothing),
  whose ratio to the floor is the figure that matters (goal: at most 3);
- a full sweep 90 days later, when lapsed certifications put firms at risk or move them down;
- the incremental re-evaluation of one firm after one of its awards is revoked, at this size
  and at ``--small`` firms, to show it does not grow with the program.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select, text

from bench.import_bench import database
from charter.config import Settings
from charter.core import clock
from charter.core.auth import Principal
from charter.core.ids import new_id
from charter.credentials.models import Award
from charter.db.engine import make_engine, make_sessionmaker, use_settings
from charter.partners.rules import empty_onboarding
from charter.tiers import schemes, service
from charter.tiers.schemas import SchemeCreate

ACTOR = Principal.system("bench")
PEOPLE_PER_FIRM = 20
AWARDS_PER_PERSON = 5
TRACKS = ("sales", "technical", "support")
FLOOR_SQL = """
SELECT p.partner_id, c.track, count(DISTINCT a.person_id)
FROM awards a
JOIN people p ON p.id = a.person_id
JOIN certifications c ON c.id = a.certification_id
WHERE a.status = 'active' AND a.issued_at <= :now AND a.valid_until > :now
  AND p.partner_id IS NOT NULL
GROUP BY p.partner_id, c.track
"""
SCHEME = {
    "tiers": [
        {"key": "registered", "name": "Registered", "rank": 1,
         "requirements": {"good_standing": True}},
        {"key": "silver", "name": "Silver", "rank": 2, "grace_days": 30,
         "requirements": {"good_standing": True, "onboarding_complete": True,
                          "min_certified_by_track": {"technical": 12, "sales": 12}}},
        {"key": "gold", "name": "Gold", "rank": 3, "grace_days": 60,
         "requirements": {"good_standing": True, "onboarding_complete": True,
                          "min_certified_by_track": {"technical": 16, "sales": 16, "support": 15},
                          "min_certified_by_certification": {"TECH-PRO": 12},
                          "min_track_record": {"customer_satisfaction": 4.0}}},
    ]
}  # fmt: skip


def _settings(directory: Path) -> Settings:
    return Settings(
        database_url="sqlite://",
        secret_key="bench-secret-not-for-production",
        data_dir=directory,
        public_url="http://127.0.0.1:8000",
    )


def _copy(
    engine: Engine, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def generate(engine: Engine, firms: int, now: datetime) -> None:
    """Firms, people, certifications and awards, written with COPY (not timed)."""
    import json

    rng = random.Random(20260301)
    onboarding = json.dumps(
        {key: {**value, "done": True} for key, value in empty_onboarding().items()}
    )
    certifications = []
    for track in TRACKS:
        for level, suffix in (("associate", "ASC"), ("professional", "PRO")):
            code = f"{track[:4].upper()}-{suffix}"
            certifications.append((new_id("crt"), new_id("crv"), code, track, level))
    _copy(
        engine,
        "certifications",
        ("id", "code", "name", "track", "level", "description", "validity_days",
         "renewal_window_days", "created_at", "updated_at"),
        [(c[0], c[2], c[2], c[3], c[4], "", 730, 90, now, now) for c in certifications],
    )  # fmt: skip
    _copy(
        engine,
        "criteria_versions",
        ("id", "certification_id", "version", "effective_from", "narrative", "requirements",
         "created_at"),
        [(c[1], c[0], 1, now - timedelta(days=1000), "Pass.", "{}", now) for c in certifications],
    )  # fmt: skip
    partners, people, awards, records = [], [], [], []
    for n in range(firms):
        firm = new_id("prt")
        status = "active" if rng.random() < 0.97 else "suspended"
        partners.append((firm, f"Partner {n}", "reseller", status, "DE", onboarding, now, now, now))
        records.append(
            (new_id("trk"), firm, "customer_satisfaction", round(rng.uniform(3.5, 5), 1), now, now)
        )
        for _ in range(PEOPLE_PER_FIRM):
            person = new_id("per")
            track = rng.choice(TRACKS)
            people.append((person, "Ada", "Lovelace", track, firm, False, now, now))
            for cert in rng.sample(certifications, AWARDS_PER_PERSON):
                roll = rng.random()
                award_status = "active" if roll < 0.9 else "revoked" if roll < 0.95 else "expired"
                issued = now - timedelta(days=rng.randint(1, 700))
                until = issued + timedelta(days=730)
                awards.append(
                    (new_id("awd"), cert[0], cert[1], "person", person, firm, award_status,
                     issued, until, 0, now, now)
                )  # fmt: skip
    _copy(
        engine,
        "partners",
        ("id", "name", "type", "status", "country", "onboarding", "status_changed_at",
         "created_at", "updated_at"),
        partners,
    )  # fmt: skip
    _copy(
        engine,
        "people",
        ("id", "given_name", "family_name", "track", "partner_id", "show_name_publicly",
         "created_at", "updated_at"),
        people,
    )  # fmt: skip
    _copy(
        engine,
        "awards",
        ("id", "certification_id", "criteria_version_id", "subject_type", "person_id",
         "partner_id", "status", "issued_at", "valid_until", "renewal_count", "created_at",
         "updated_at"),
        awards,
    )  # fmt: skip
    _copy(
        engine,
        "track_records",
        ("id", "partner_id", "metric", "value", "recorded_at", "created_at"),
        records,
    )
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def _timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _best(function: Callable[[], Any], runs: int = 3) -> float:
    return min(_timed(function) for _ in range(runs))


def bench_size(firms: int, directory: Path, *, full: bool) -> dict[str, float]:
    """Generate ``firms`` firms and measure; returns seconds by measurement."""
    now = datetime.now(UTC).replace(microsecond=0)
    results: dict[str, float] = {}
    frozen = clock.FrozenClock(now)
    with database("postgresql", directory) as url, clock.use(frozen):
        engine = make_engine(url)
        started = time.perf_counter()
        generate(engine, firms, now)
        results["generate"] = time.perf_counter() - started
        sessions = make_sessionmaker(engine)
        use_settings(sessions, _settings(directory))
        with sessions() as db, db.begin():
            schemes.publish_scheme(db, ACTOR, data=SchemeCreate.model_validate(SCHEME))

        def floor() -> None:
            with engine.connect() as connection:
                connection.execute(text(FLOOR_SQL), {"now": now}).all()

        changed: list[int] = []

        def sweep() -> None:
            with sessions() as db, db.begin():
                changed.append(service.sweep(db, ACTOR).changed)

        if full:
            results["floor"] = _best(floor)
            results["first sweep"] = _timed(sweep)
            results["first changed"] = changed[-1]
            results["steady sweep"] = _best(sweep)
            # Three months on: certifications lapse, firms go at risk or move down.
            frozen.advance(timedelta(days=90))
            results["later sweep"] = _timed(sweep)
            results["later changed"] = changed[-1]
        else:
            sweep()
        results["incremental"] = _incremental(sessions, firms)
        engine.dispose()
    return results


def _incremental(sessions: Any, firms: int, samples: int = 25) -> float:
    """Median seconds to re-evaluate one firm after revoking one of its awards."""
    rng = random.Random(7)
    with sessions() as db:
        candidates = list(
            db.execute(
                select(Award.id, Award.partner_id).where(Award.status == "active").limit(5000)
            )
        )
    timings = []
    for award_id, partner_id in rng.sample(candidates, samples):
        with sessions() as db, db.begin():
            db.execute(
                text("UPDATE awards SET status = 'revoked' WHERE id = :id"), {"id": award_id}
            )
        with sessions() as db, db.begin():
            start = time.perf_counter()
            service.evaluate_firm(db, ACTOR, partner_id=partner_id)
            timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the tier benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench tiers", description=__doc__)
    parser.add_argument("--firms", type=int, default=10_000, help="firms (20 people each)")
    parser.add_argument("--small", type=int, default=1_000, help="firms for the second size")
    args = parser.parse_args(argv)
    out = Console()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        big = bench_size(args.firms, directory, full=True)
        small = bench_size(args.small, directory, full=False)
    awards = args.firms * PEOPLE_PER_FIRM * AWARDS_PER_PERSON
    table = Table(
        title=(
            f"Tier evaluation on PostgreSQL: {args.firms:,} firms, "
            f"{args.firms * PEOPLE_PER_FIRM:,} people, {awards:,} awards"
        )
    )
    for column in ("measurement", "seconds", "ratio to the floor"):
        table.add_column(column, justify="right" if column != "measurement" else "left")
    floor = big["floor"]
    table.add_row("data generated with COPY (not compared)", f"{big['generate']:.1f}", "")
    table.add_row(
        "floor: one aggregate, certified people per firm and track", f"{floor:.3f}", "1.0"
    )
    rows = (
        ("first sweep", f"full first sweep ({big['first changed']:,.0f} standings and badges)"),
        ("steady sweep", "full sweep, nothing changed"),
        ("later sweep", f"full sweep 90 days on ({big['later changed']:,.0f} standings changed)"),
    )
    for key, label in rows:
        table.add_row(label, f"{big[key]:.3f}", f"{big[key] / floor:.2f}")
    table.add_row(
        f"incremental, one award changed ({args.firms:,} firms)",
        f"{big['incremental'] * 1000:.1f} ms",
        "",
    )
    table.add_row(
        f"incremental, one award changed ({args.small:,} firms)",
        f"{small['incremental'] * 1000:.1f} ms",
        "",
    )
    out.print(table)
    out.print(
        f"full sweep / floor = {big['steady sweep'] / floor:.2f} with nothing changed "
        "(goal: at most 3); sweeps that change standings also sign and revoke firm badges."
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
