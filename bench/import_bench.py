"""CSV import speed against a plain ``executemany`` insert of the same rows, in the same run.

For each database (a temporary SQLite file, and a PostgreSQL database created and dropped here),
the benchmark times:

- people: a plain DBAPI ``executemany`` of the rows the import writes (people, their emails and
  employments; no parsing, validation or events), then ``charter.partners.imports.import_people``
  on the CSV (parsing, validation, cross-row and database checks, writes, one event per row);
- awards: the same for ``charter.credentials.imports.import_awards``, which also judges every
  award against the criteria in force with the person's recorded evidence.

The ratio is import rows/s divided by plain rows/s (the goal is >= 0.5). Assessments are
imported between the two (they are the evidence the awards need) and their rate is shown too.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from charter.core import clock
from charter.core.auth import Principal
from charter.core.ids import new_id
from charter.db.engine import make_engine, make_sessionmaker
from charter.schema import create_all

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CERTIFICATION = "BENCH-TECH-PRO"
EXAM = "BENCH-EXAM-101"
TRACKS = ("sales", "technical", "support")
ACTOR = Principal.system("bench")


@dataclass
class Result:
    backend: str
    what: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def write_csv(path: Path, header: Sequence[str], rows: Iterator[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def generate(directory: Path, rows: int, partners: int) -> None:
    """Partners, people, one passed exam per person, and one award per person, as CSV."""
    rng = random.Random(20260301)
    write_csv(
        directory / "partners.csv",
        ("external_id", "name", "type", "regions", "country", "website"),
        (
            (
                f"P{n:06d}",
                f"Partner {n} GmbH",
                rng.choice(("reseller", "var", "msp", "implementation")),
                rng.choice(("emea", "na;latam", "apac", "emea;apac")),
                rng.choice(("DE", "US", "FR", "JP", "BR", "GB")),
                f"https://partner{n}.example.com",
            )
            for n in range(partners)
        ),
    )
    given = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Radia", "Linus", "Margaret")
    family = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Perlman")
    write_csv(
        directory / "people.csv",
        ("external_id", "partner_external_id", "given_name", "family_name", "track", "emails"),
        (
            (
                f"E{n:07d}",
                f"P{n % partners:06d}",
                rng.choice(given),
                rng.choice(family),
                rng.choice(TRACKS),
                f"person{n}@partner{n % partners}.example.com",
            )
            for n in range(rows)
        ),
    )
    occurred = (datetime(2026, 1, 15, 9, 30, tzinfo=UTC)).isoformat()
    write_csv(
        directory / "assessments.csv",
        (
            "external_id",
            "person_external_id",
            "kind",
            "code",
            "score",
            "passed",
            "assessor",
            "occurred_at",
            "evidence_url",
            "evidence_sha256",
        ),
        (
            (
                f"A{n:07d}",
                f"E{n:07d}",
                "exam",
                EXAM,
                f"{70 + n % 30}",
                "true",
                "Pearson VUE",
                occurred,
                "",
                "",
            )
            for n in range(rows)
        ),
    )
    write_csv(
        directory / "awards.csv",
        ("external_id", "person_external_id", "certification_code"),
        ((f"W{n:07d}", f"E{n:07d}", CERTIFICATION) for n in range(rows)),
    )


@contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    """A fresh database with Charter's schema; PostgreSQL's is dropped afterwards."""
    if backend == "sqlite":
        path = directory / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        create_all(engine)
        engine.dispose()
        try:
            yield url
        finally:
            # Gone at once, with its write-ahead log: its dirty pages are dropped, not written
            # back while the next measurement runs.
            for leftover in (
                path,
                path.with_name(path.name + "-wal"),
                path.with_name(path.name + "-shm"),
            ):
                leftover.unlink(missing_ok=True)
        return
    name = f"charter_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        create_all(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def run_import(engine: Engine, importer: Callable[..., Any], path: Path) -> None:
    factory = make_sessionmaker(engine)
    with factory() as db, db.begin():
        importer(db, ACTOR, source=path)


def setup(engine: Engine, directory: Path) -> tuple[str, str, list[tuple[str, str]]]:
    """Partners and the certification; returns (certification id, criteria id, partners)."""
    from charter.partners.imports import import_partners
    from charter.programs import service as programs
    from charter.programs.schemas import CertificationCreate

    run_import(engine, import_partners, directory / "partners.csv")
    factory = make_sessionmaker(engine)
    with factory() as db, db.begin():
        certification = programs.create_certification(
            db,
            ACTOR,
            data=CertificationCreate.model_validate(
                {
                    "code": CERTIFICATION,
                    "name": "Bench Technical Professional",
                    "track": "technical",
                    "level": "professional",
                    "validity_days": 730,
                    "renewal_window_days": 90,
                    "criteria": {
                        "narrative": "Pass the exam with 70% or more.",
                        "requirements": {"assessments": [{"code": EXAM, "min_score": 70}]},
                        "effective_from": "2025-01-01T00:00:00Z",
                    },
                }
            ),
        )
        criteria = programs.criteria_in_force(db, certification_id=certification.id, at=clock.now())
        partners = [
            (row[0], row[1])
            for row in db.execute(text("SELECT external_id, id FROM partners ORDER BY external_id"))
        ]
        return certification.id, criteria.id, partners


def _stamp(backend: str, value: datetime) -> Any:
    # What SQLAlchemy itself would bind: SQLite stores text, psycopg takes the datetime.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if backend == "sqlite" else value


def plain_rows(
    backend: str, directory: Path, partners: dict[str, str], certification_id: str, criteria_id: str
) -> tuple[
    list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]
]:
    """The rows the imports write, prepared in memory for the baseline (not timed)."""
    now = datetime.now(UTC)
    stamp = _stamp(backend, now)
    until = _stamp(backend, now + timedelta(days=730))
    people, emails, employments, awards = [], [], [], []
    with (directory / "people.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            person_id = new_id("per")
            partner_id = partners[row["partner_external_id"]]
            people.append(
                (
                    person_id,
                    row["given_name"],
                    row["family_name"],
                    row["track"],
                    partner_id,
                    row["external_id"],
                    stamp,
                    stamp,
                )
            )
            emails.append((new_id("pem"), person_id, row["emails"], True, stamp))
            employments.append((new_id("emp"), person_id, partner_id, stamp, None))
            awards.append(
                (
                    new_id("awd"),
                    certification_id,
                    criteria_id,
                    "person",
                    person_id,
                    partner_id,
                    "active",
                    stamp,
                    until,
                    None,
                    None,
                    None,
                    None,
                    0,
                    "W" + row["external_id"][1:],
                    stamp,
                    stamp,
                )
            )
    return people, emails, employments, awards


def insert_sql(table: str, columns: str) -> str:
    """An INSERT with a ``{p}`` placeholder per column, replaced by the driver's own."""
    count = len(columns.split(","))
    return f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['{p}'] * count)})"


PEOPLE_SQL = insert_sql(
    "people", "id, given_name, family_name, track, partner_id, external_id, created_at, updated_at"
)
EMAILS_SQL = insert_sql("person_emails", 'id, person_id, email, "primary", created_at')
EMPLOYMENTS_SQL = insert_sql("employments", "id, person_id, partner_id, joined_at, left_at")
AWARDS_SQL = insert_sql(
    "awards",
    "id, certification_id, criteria_version_id, subject_type, person_id, partner_id, status, "
    "issued_at, valid_until, status_reason, status_changed_at, override_reason, renewed_at, "
    "renewal_count, external_id, created_at, updated_at",
)


def plain_insert(engine: Engine, statements: Sequence[tuple[str, list[tuple[Any, ...]]]]) -> None:
    """Raw DBAPI executemany in one transaction: the baseline."""
    placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        for sql, rows in statements:
            cursor.executemany(sql.replace("{p}", placeholder), rows)
        connection.commit()
    finally:
        connection.close()


def bench_backend(backend: str, directory: Path, rows: int) -> list[Result]:
    from charter.credentials.imports import import_awards
    from charter.partners.imports import import_people
    from charter.programs.imports import import_assessments

    results: list[Result] = []
    with database(backend, directory) as url:
        engine = make_engine(url)
        try:
            certification_id, criteria_id, partner_rows = setup(engine, directory)
            people, emails, employments, awards = plain_rows(
                backend, directory, dict(partner_rows), certification_id, criteria_id
            )
            seconds = timed(
                lambda: plain_insert(
                    engine,
                    [(PEOPLE_SQL, people), (EMAILS_SQL, emails), (EMPLOYMENTS_SQL, employments)],
                )
            )
            results.append(Result(backend, "people: plain executemany", rows, seconds))
            seconds = timed(lambda: plain_insert(engine, [(AWARDS_SQL, awards)]))
            results.append(Result(backend, "awards: plain executemany", rows, seconds))
            with engine.begin() as connection:
                for table in ("awards", "employments", "person_emails", "people"):
                    connection.execute(text(f"DELETE FROM {table}"))
            if backend == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(text("VACUUM ANALYZE"))
            seconds = timed(lambda: run_import(engine, import_people, directory / "people.csv"))
            results.append(Result(backend, "people: charter import", rows, seconds))
            seconds = timed(
                lambda: run_import(engine, import_assessments, directory / "assessments.csv")
            )
            results.append(Result(backend, "assessments: charter import", rows, seconds))
            seconds = timed(lambda: run_import(engine, import_awards, directory / "awards.csv"))
            results.append(Result(backend, "awards: charter import", rows, seconds))
            with make_sessionmaker(engine)() as db:
                from charter.core.eventverify import verify_chain

                report = verify_chain(db)
                assert report.ok, report.problem
                count = db.scalar(text("SELECT count(*) FROM awards"))
                assert count == rows, f"expected {rows} awards, found {count}"
        finally:
            engine.dispose()
    return results


def render(results: list[Result]) -> None:
    from rich.console import Console
    from rich.table import Table

    plain = {(r.backend, r.what.split(":")[0]): r.rate for r in results if "plain" in r.what}
    table = Table("backend", "what", "rows", "seconds", "rows/s", "import / plain")
    for result in results:
        kind = result.what.split(":")[0]
        ratio = ""
        if "import" in result.what and (result.backend, kind) in plain:
            ratio = f"{result.rate / plain[(result.backend, kind)]:.2f}"
        table.add_row(
            result.backend,
            result.what,
            f"{result.rows:,}",
            f"{result.seconds:.2f}",
            f"{result.rate:,.0f}",
            ratio,
        )
    Console(width=120).print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="people and awards (100000)")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    args = parser.parse_args(argv)
    rows = max(args.rows, 10)
    partners = max(rows // 100, 1)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as name:
        directory = Path(name)
        generate(directory, rows, partners)
        print(f"{rows:,} people over {partners:,} partners, {rows:,} assessments and awards")
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            results.extend(bench_backend(backend, directory, rows))
            render(results)
