"""Portal pages at program scale: server time against the raw SQL each page runs, same run.

``python -m bench pages [--firms N] [--people N] [--awards-per-person N] [--requests N]``.
On a throwaway PostgreSQL database (default: 10,000 firms, 200,000 people, 5 awards each, so
1,000,000 awards over five certifications), the benchmark fills the tables with plain inserts
(not timed: firms through the partners import, people and awards with ``COPY``), then for each
page:

- server time: the page requested through the whole application in this process (its
  middleware, routing, session, services and template; no HTTP parsing), signed in as the
  program manager; the median over ``--requests`` requests, after a warm-up;
- raw SQL: the very statements that request ran (recorded from the driver's cursor, with their
  parameters), executed again with the driver alone on one connection; the median of the same
  count of repeats.

``--keep NAME`` fills a database named ``charter_bench_keep_NAME`` once and leaves it in place,
so later runs with the same name skip the filling (for working on one page; drop it with
``dropdb`` when done); ``--only TEXT`` measures the pages whose name has TEXT. It prints both
medians and their ratio (goal: at most 2, and a page median under 150 ms; the directory and
the reports have the looser 200 ms of their own goal). Nine firms in ten are
made active and listed in the public directory, which is measured with and without filters,
with a firm's profile, beside every program report.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, create_engine, event, text

from bench.import_bench import ACTOR, POSTGRES_ADMIN_URL, database, run_import, write_csv
from charter.accounts import service as accounts
from charter.app import create_app
from charter.config import Settings
from charter.core import clock
from charter.core.auth import Role
from charter.core.ids import new_id
from charter.db.engine import make_engine, make_sessionmaker
from charter.partners.imports import import_partners
from charter.programs import service as programs
from charter.programs.schemas import CertificationCreate
from charter.reports import certification
from charter.reports.service import REPORTS
from charter.schema import create_all
from charter.tiers import directory as directory_counts
from charter.tiers import forecast as tiers_forecast
from charter.tiers import schemes as tiers_schemes
from charter.tiers import service as tiers_service
from charter.tiers.schemas import SchemeCreate

MANAGER_EMAIL = "pm@bench.example"
MANAGER_PASSWORD = "bench-manager-password"
GOAL_RATIO = 2.0
GOAL_MS = 150.0
PUBLIC_GOAL_MS = 200.0
CERTIFICATIONS = [
    (f"BENCH-{track.upper()}-{level.upper()}", track, level)
    for track, level in (
        ("technical", "associate"),
        ("technical", "professional"),
        ("sales", "associate"),
        ("support", "associate"),
        ("technical", "expert"),
    )
]

SCHEME = {
    "tiers": [
        {"key": "registered", "name": "Registered", "rank": 1,
         "requirements": {"good_standing": True}},
        {"key": "silver", "name": "Silver", "rank": 2, "grace_days": 30,
         "requirements": {"good_standing": True,
                          "min_certified_by_track": {"technical": 6}}},
        {"key": "gold", "name": "Gold", "rank": 3, "grace_days": 60,
         "requirements": {"good_standing": True,
                          "min_certified_by_track": {"technical": 8, "sales": 7}}},
    ]
}  # fmt: skip
"""Tiers that split the firms: about three in five Silver or better, one in five Gold."""


@dataclass(frozen=True)
class Page:
    """One page to measure: its name and path (the program manager's view)."""

    name: str
    path: str
    goal_ms: float = GOAL_MS
    """The median a page must stay under (the portal's 150 ms; the directory and reports 200)."""


@dataclass(frozen=True)
class Measured:
    page: Page
    server_ms: float
    sql_ms: float
    statements: int

    @property
    def ratio(self) -> float:
        return self.server_ms / self.sql_ms if self.sql_ms else float("inf")

    @property
    def met(self) -> bool:
        return self.ratio <= GOAL_RATIO and self.server_ms < self.page.goal_ms


def _firms(directory: Path, count: int) -> Path:
    rng = random.Random(20261207)
    path = directory / "partners.csv"
    write_csv(
        path,
        ("external_id", "name", "type", "regions", "country", "website"),
        (
            (
                f"P{n:06d}",
                f"Partner {n} {rng.choice(('GmbH', 'Ltd', 'Inc.', 'S.A.'))}",
                rng.choice(("reseller", "var", "msp", "implementation")),
                rng.choice(("emea", "na;latam", "apac", "emea;apac")),
                rng.choice(("DE", "US", "FR", "JP", "BR", "GB")),
                f"https://partner{n}.example.com",
            )
            for n in range(count)
        ),
    )
    return path


def _certifications(engine: Engine) -> list[tuple[str, str]]:
    """The five certifications: (certification id, criteria id in force) each."""
    made = []
    with make_sessionmaker(engine)() as db, db.begin():
        for code, track, level in CERTIFICATIONS:
            certification = programs.create_certification(
                db,
                ACTOR,
                data=CertificationCreate.model_validate(
                    {
                        "code": code,
                        "name": f"Bench {track} {level}",
                        "track": track,
                        "level": level,
                        "validity_days": 730,
                        "renewal_window_days": 90,
                        "criteria": {
                            "narrative": "Pass the exam.",
                            "requirements": {
                                "assessments": [{"code": f"{code}-EXAM", "min_score": 70}]
                            },
                            "effective_from": "2024-01-01T00:00:00Z",
                        },
                    }
                ),
            )
            criteria = programs.criteria_in_force(
                db, certification_id=certification.id, at=datetime.now(UTC)
            )
            made.append((certification.id, criteria.id))
    return made


def _copy(
    connection: Any, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> int:
    count = 0
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def fill(url: str, directory: Path, firms: int, people: int, per_person: int) -> None:
    """Fill the database: firms, people, their awards, and a program manager."""
    engine = make_engine(url)
    try:
        run_import(engine, import_partners, _firms(directory, firms))
        certifications = _certifications(engine)
        with engine.connect() as connection:
            partner_ids = [row[0] for row in connection.execute(text("SELECT id FROM partners"))]
        now = datetime.now(UTC)
        rng = random.Random(7)
        raw = engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            person_ids = [new_id("per") for _ in range(people)]
            homes = [partner_ids[n % len(partner_ids)] for n in range(people)]
            _copy(
                driver,
                "people",
                (
                    "id",
                    "given_name",
                    "family_name",
                    "track",
                    "partner_id",
                    "external_id",
                    "created_at",
                    "updated_at",
                ),
                (
                    (
                        pid,
                        "Given",
                        f"Family{n}",
                        rng.choice(("sales", "technical", "support")),
                        homes[n],
                        f"E{n:07d}",
                        now,
                        now,
                    )
                    for n, pid in enumerate(person_ids)
                ),
            )
            _copy(
                driver,
                "person_emails",
                ("id", "person_id", "email", '"primary"', "created_at"),
                (
                    (new_id("pem"), pid, f"p{n}@bench.example", True, now)
                    for n, pid in enumerate(person_ids)
                ),
            )
            _copy(
                driver,
                "employments",
                ("id", "person_id", "partner_id", "joined_at", "left_at"),
                ((new_id("emp"), pid, homes[n], now, None) for n, pid in enumerate(person_ids)),
            )

            def awards() -> Iterator[tuple[Any, ...]]:
                for n, pid in enumerate(person_ids):
                    for k in range(per_person):
                        certification_id, criteria_id = certifications[k % len(certifications)]
                        issued = now - timedelta(days=rng.randrange(0, 700))
                        yield (
                            new_id("awd"),
                            certification_id,
                            criteria_id,
                            "person",
                            pid,
                            homes[n],
                            "active",
                            issued,
                            issued + timedelta(days=730),
                            None,
                            None,
                            None,
                            None,
                            0,
                            f"W{n:07d}-{k}",
                            issued,
                            issued,
                        )

            _copy(
                driver,
                "awards",
                (
                    "id",
                    "certification_id",
                    "criteria_version_id",
                    "subject_type",
                    "person_id",
                    "partner_id",
                    "status",
                    "issued_at",
                    "valid_until",
                    "status_reason",
                    "status_changed_at",
                    "override_reason",
                    "renewed_at",
                    "renewal_count",
                    "external_id",
                    "created_at",
                    "updated_at",
                ),
                awards(),
            )
            driver.commit()
        finally:
            raw.close()
        with engine.connect() as connection:
            # Nine firms in ten active and listed in the public directory; the rest applicants.
            connection.execute(
                text(
                    "UPDATE partners SET status = 'active', listed = true, "
                    "slug = 'bench-' || lower(external_id) WHERE external_id NOT LIKE '%0'"
                )
            )
            connection.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # As autovacuum leaves tables after a load: statistics, and the visibility map that
            # lets counts read indexes alone.
            connection.execute(text("VACUUM ANALYZE"))
        with make_sessionmaker(engine)() as db, db.begin():
            # A tier scheme, and every firm judged by it as the worker's sweep does (each firm
            # gets its standing and its signed tier badge).
            tiers_schemes.publish_scheme(db, ACTOR, data=SchemeCreate.model_validate(SCHEME))
        with make_sessionmaker(engine)() as db, db.begin():
            tiers_service.sweep(db, ACTOR)
        with make_sessionmaker(engine)() as db, db.begin():
            # What the worker keeps: the directory's order (counted hourly, and per event), the
            # months of certified headcount (each at its end, the month under way hourly), and
            # when each firm falls below its tier if nobody renews (hourly, and per event).
            directory_counts.recount_headcounts(db, clock.now())
            certification.count_headcounts(db, now=clock.now())
            tiers_forecast.count_falls(db, clock.now())
        with make_sessionmaker(engine)() as db, db.begin():
            accounts.create_user(
                db,
                ACTOR,
                email=MANAGER_EMAIL,
                display_name="Bench Manager",
                role=Role.PROGRAM_MANAGER,
                password=MANAGER_PASSWORD,
            )
    finally:
        engine.dispose()


def _value(url: str, query: str) -> str:
    """The one value ``query`` reads from the database at ``url``."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


class Recorder:
    """The statements an engine's cursors execute while on, with their parameters."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.on:
            self.statements.append((statement, parameters))


class Asgi:
    """Requests through the application in this process, keeping its cookies."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    async def call(
        self, method: str, path: str, body: bytes = b"", **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        route, _, query = path.partition("?")
        sent: list[dict[str, Any]] = []
        given = {"host": "127.0.0.1:8000", "accept": "text/html", **headers}
        if self.cookies:
            given["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": route,
            "raw_path": route.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in given.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        out_headers: dict[str, str] = {}
        for key, value in start["headers"]:
            name, text_ = key.decode().lower(), value.decode()
            if name == "set-cookie":
                cookie, _, _ = text_.partition(";")
                cookie_name, _, cookie_value = cookie.partition("=")
                self.cookies[cookie_name] = cookie_value
            out_headers[name] = text_
        content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return start["status"], out_headers, content


async def sign_in(client: Asgi) -> None:
    import re

    _, _, form = await client.call("GET", "/login")
    match = re.search(rb'name="csrf" value="([^"]+)"', form)
    if match is None:
        raise SystemExit("the sign-in form carries no CSRF token")
    body = urlencode(
        {"email": MANAGER_EMAIL, "password": MANAGER_PASSWORD, "csrf": match.group(1).decode()}
    ).encode()
    status, _, _ = await client.call(
        "POST", "/login", body, **{"content-type": "application/x-www-form-urlencoded"}
    )
    if status != 303:
        raise SystemExit(f"signing in answered {status}")


def _median_ms(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _replay_ms(engine: Engine, statements: Sequence[tuple[str, Any]], repeats: int) -> float:
    """The median time of running ``statements`` with the driver alone, on one connection."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()

        def replay() -> None:
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            raw.rollback()

        return _median_ms(replay, repeats)
    finally:
        raw.close()


async def _measure_pages(
    app: Any, recorder: Recorder, pages: Sequence[Page], requests: int
) -> list[Measured]:
    """Every page measured from this one task, as a server's requests all run under its one
    root task: the worker threads that run page handlers are then kept between requests, as
    they are in a server (a task per request would start a thread for each)."""
    client = Asgi(app)
    await sign_in(client)
    results = []
    for page in pages:
        for _ in range(3):  # warm-up: compiled statements, templates
            status, _, _ = await client.call("GET", page.path)
        if status != 200:
            raise SystemExit(f"{page.name}: {page.path} answered {status}")
        recorder.statements.clear()
        recorder.on = True
        await client.call("GET", page.path)
        recorder.on = False
        statements = list(recorder.statements)
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            await client.call("GET", page.path)
            times.append((time.perf_counter() - started) * 1000)
        sql = _replay_ms(app.state.engine, statements, requests)
        results.append(Measured(page, statistics.median(times), sql, len(statements)))
    return results


def measure(url: str, directory: Path, pages: Sequence[Page], requests: int) -> list[Measured]:
    settings = Settings(database_url=url, data_dir=directory, secret_key="bench-pages-secret")
    app = create_app(settings)
    recorder = Recorder(app.state.engine)
    try:
        return asyncio.run(_measure_pages(app, recorder, pages, requests))
    finally:
        app.state.engine.dispose()


def render(results: Sequence[Measured], shape: str) -> None:
    print(f"Portal pages on PostgreSQL ({shape}); medians, server time in this process")
    print(f"{'page':<28}{'server ms':>10}{'raw SQL ms':>11}{'statements':>11}{'ratio':>7}  goal")
    for m in results:
        goal = "met" if m.met else "MISSED"
        print(
            f"{m.page.name:<28}{m.server_ms:>10.1f}{m.sql_ms:>11.1f}{m.statements:>11}"
            f"{m.ratio:>7.2f}  {goal} (<= {GOAL_RATIO:.0f}x, < {m.page.goal_ms:.0f} ms)"
        )


@contextmanager
def _fresh(directory: Path) -> Iterator[tuple[str, bool]]:
    with database("postgresql", directory) as url:
        yield url, False


def _pages(url: str) -> list[Page]:
    """The pages measured: a firm with people, and a listed firm's profile, taken from ``url``."""
    firm = _value(
        url,
        "SELECT id FROM partners ORDER BY id OFFSET (SELECT count(*) / 2 FROM partners) LIMIT 1",
    )
    listed = _value(
        url,
        "SELECT p.slug FROM partners p WHERE p.listed AND EXISTS "
        "(SELECT 1 FROM people x WHERE x.partner_id = p.id) ORDER BY p.slug LIMIT 1",
    )
    return [
        Page("partner list", "/partners"),
        Page("partner list, filtered", "/partners?status=applicant&region=emea"),
        Page("firm page", f"/partners/{firm}"),
        Page("dashboard", "/dashboard"),
        Page("directory", "/directory", PUBLIC_GOAL_MS),
        Page(
            "directory, filtered",
            f"/directory?region=emea&certification={CERTIFICATIONS[1][0]}",
            PUBLIC_GOAL_MS,
        ),
        Page("directory, searched", "/directory?q=GmbH&track=technical", PUBLIC_GOAL_MS),
        Page("directory profile", f"/directory/{listed}", PUBLIC_GOAL_MS),
        *(
            Page(f"report: {kind.name}", f"/reports/{kind.name}", PUBLIC_GOAL_MS)
            for kind in REPORTS
        ),
    ]


@contextmanager
def kept(name: str) -> Iterator[tuple[str, bool]]:
    """The database kept under ``name``, and whether it was there already (so is filled)."""
    database_name = f"charter_bench_keep_{name}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            there = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database_name}
            ).first()
            if there is None:
                connection.execute(text(f'CREATE DATABASE "{database_name}"'))
        url = admin.url.set(database=database_name).render_as_string(hide_password=False)
    finally:
        admin.dispose()
    if there is None:
        engine = make_engine(url)
        create_all(engine)
        engine.dispose()
    yield url, there is not None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench pages", description=__doc__)
    parser.add_argument("--firms", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--awards-per-person", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20, help="requests a page (20)")
    parser.add_argument("--keep", metavar="NAME", help="fill a kept database once and reuse it")
    parser.add_argument("--only", metavar="TEXT", help="measure only pages whose name has TEXT")
    args = parser.parse_args(argv)
    firms = min(max(args.firms, 1), 100_000)
    people = min(max(args.people, 1), 2_000_000)
    per_person = min(max(args.awards_per_person, 1), 20)
    requests = min(max(args.requests, 1), 1000)
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as name:
        directory = Path(name)
        place = kept(args.keep) if args.keep else _fresh(directory)
        with place as (url, filled):
            if not filled:
                started = time.perf_counter()
                fill(url, directory, firms, people, per_person)
                print(f"filled in {time.perf_counter() - started:.0f} s")
            pages = [page for page in _pages(url) if args.only is None or args.only in page.name]
            results = measure(url, directory, pages, requests)
    render(results, f"{firms:,} firms, {people:,} people, {people * per_person:,} awards")
