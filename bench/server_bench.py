"""Server load: requests per second through ``charter serve``, against a bare FastAPI app.

``python -m bench server [--duration S] [--connections N] [--routes TEXT,...] [--postgres]
[--workers-compare]``. The run seeds the demo program into a fresh database (SQLite in a
temporary directory; ``--postgres``: a throwaway database on 127.0.0.1:5432, dropped afterwards),
picks a valid person credential, its status list and a new API key of the demo's admin, and
serves, each with one worker pinned to core 0 (``taskset``), on 127.0.0.1 only:

- :mod:`bench.bare_app`, FastAPI on Uvicorn and nothing else (the baseline);
- ``charter serve --workers 1`` on that database.

``wrk`` (one thread, 32 connections, pinned to core 1) then loads each route for a few seconds:
the bare ``def`` route, a problem type page and the health check (little or no database), the
credential JSON, the status list and the baked PNG (each plain, then with ``If-None-Match`` for
a 304), the credential's page, an API key's ``/users/me`` and a 50-item award list, and
``POST /api/v1/verify`` with the credential. Each row is compared with the bare ``async def``
route, sampled for two seconds right before and right after it: this machine's speed drifts by
tens of percent within a minute, and a baseline taken minutes earlier would measure that drift.
The verifier's own rate on one core (``verify_credential`` in a child process pinned to core 0,
with the verify route's local resolver and record lookup, no HTTP) is measured right before and
right after the verify row, which is compared with their mean.

Goals: credential JSON, status list and baked PNG (200 and 304) at least 0.6 of the bare async
rate; the page 0.4; ``/users/me`` and the list 0.3; verify half the in-process rate; a p99
latency under 50 ms and no errors on every row. With ``--postgres`` (or ``--workers-compare``)
the credential JSON and verify rows run again against ``charter serve --workers 2`` (not pinned;
wrk stays on core 1), with a goal of 1.6 times one worker (compared through their ratios to the
bare route).

Every route's first answer is checked with a plain request before it is loaded: a route that
answers 404 or 500, or a verdict other than valid, is reported as broken and not loaded, so it
cannot look fast. Before each row the servers are left to finish what the previous one queued.
``--routes`` runs only the rows whose names contain one of the given texts. Bounded: each row
lasts ``--duration`` seconds (5 by default; a full SQLite run takes two to three minutes), and
the servers are stopped (their process groups killed) however the run ends. Needs ``wrk``
(``make wrk``) and ``taskset``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Literal, NamedTuple

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text

from bench import wrk
from bench.import_bench import POSTGRES_ADMIN_URL
from bench.license_seed import issue_bench_license
from bench.servers import SETTLE_TIMEOUT_S, Server, free_port, log_errors, serving, settle
from bench.wrk import WrkResult, mean_result
from charter.accounts import service as accounts
from charter.accounts.models import User
from charter.app import create_app
from charter.config import Settings, get_settings
from charter.core import clock
from charter.credentials.enums import AwardStatus, CredentialStatus
from charter.credentials.models import Award, IssuedCredential
from charter.credentials.verify import verify_credential
from charter.db.engine import make_engine, make_sessionmaker
from charter.db.freshness import ChangeNotices
from charter.demo.people import ADMIN_EMAIL
from charter.demo.seeding import seed

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-not-for-production"
LIST_LIMIT = 50
P99_GOAL_MS = 50.0
WORKERS_GOAL = 1.6
SERVER_CORE = "0"
LOAD_CORE = "1"
REQUEST_TIMEOUT_S = 10.0
WARM_UP_REQUESTS = 10
BASELINE_SECONDS = 2
"""How long each sample of the bare async route runs (at most the rows' duration)."""
IN_PROCESS_SECONDS = 3.0
IN_PROCESS_TIMEOUT_S = 120.0
TWO_WORKERS = ", 2 workers"
TRIVIAL_ROW = "problem type (no database)"
"""Charter's trivial route: no database, no caller; what license validation is compared with."""


GoalKind = Literal["none", "bare", "in-process", "one worker", "row"]


class Goal(NamedTuple):
    """What a row's rate must reach, besides a p99 under 50 ms and no errors.

    ``bare``: ``factor`` times the bare async route; ``in-process``: ``factor`` times the
    verifier's in-process rate; ``one worker``: ``factor`` times the row named ``of`` (the
    same route on one worker); ``row``: ``factor`` times the row named ``of`` (another route
    of the same server).
    """

    kind: GoalKind = "none"
    factor: float = 0.0
    of: str = ""


NO_GOAL = Goal()

Check = Callable[[httpx.Response], str | None]
"""What a route's first answer must show besides its status code: ``None``, or what is wrong."""


@dataclass(frozen=True)
class Route:
    """One row: a request loaded with wrk, what its first answer must be, and its goal."""

    name: str
    server: Literal["bare", "charter"]
    path: str
    goal: Goal = NO_GOAL
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: int = 200
    conditional: bool = False
    """Sent with ``If-None-Match``: the ETag of a first, plain answer (expects a 304)."""
    body: bytes | None = None
    check: Check | None = None


@dataclass(frozen=True)
class Measured:
    """A row's outcome: wrk's result, or why the route was not loaded (``problem``).

    ``baseline`` is the bare async rate the row is compared with: the mean of the samples
    taken right before and right after it.
    """

    route: Route
    result: WrkResult | None
    problem: str | None = None
    baseline: float | None = None
    label: str | None = None

    @property
    def ratio(self) -> float | None:
        """The rate over the row's baseline."""
        if self.result is None or not self.baseline:
            return None
        return self.result.requests_per_second / self.baseline


@dataclass(frozen=True)
class Seeded:
    """What the routes need from the seeded database."""

    credential_id: str
    credential_text: str
    status_list_id: str
    api_key: str
    list_path: str
    seconds: float
    license_key: str = ""
    product_code: str = ""


def _json_field(name: str, expected: Any) -> Check:
    def check(response: httpx.Response) -> str | None:
        try:
            value = response.json().get(name)
        except (ValueError, AttributeError):
            return "the answer is not a JSON object"
        return None if value == expected else f"{name} is {value!r}, expected {expected!r}"

    return check


def _list_of(count: int) -> Check:
    def check(response: httpx.Response) -> str | None:
        try:
            items = response.json().get("items")
        except (ValueError, AttributeError):
            return "the answer is not a JSON object"
        found = len(items) if isinstance(items, list) else 0
        return None if found == count else f"{found} items, expected {count}"

    return check


def _starts_with(prefix: bytes, what: str) -> Check:
    def check(response: httpx.Response) -> str | None:
        return None if response.content.startswith(prefix) else f"the answer is not {what}"

    return check


def _content_type(media: str) -> Check:
    def check(response: httpx.Response) -> str | None:
        given = response.headers.get("content-type", "")
        return None if given.startswith(media) else f"content type {given!r}, expected {media}"

    return check


def _valid_verdict(response: httpx.Response) -> str | None:
    try:
        verdict = response.json()
    except ValueError:
        return "the answer is not JSON"
    if verdict.get("status") == "valid":
        return None
    return f"verdict {verdict.get('status')!r}: {verdict.get('reason')}"


def routes(seeded: Seeded, settings: Settings) -> list[Route]:
    """Every row in the order they run: the bare app first, verify last."""
    credential = f"/credentials/{seeded.credential_id}"
    status_list = f"/status/{seeded.status_list_id}"
    badge = f"{credential}/badge.png"
    as_json = {"Accept": "application/vc+ld+json"}
    bearer = {"Authorization": f"Bearer {seeded.api_key}"}
    document = json.loads(seeded.credential_text)
    downloads = Goal("bare", 0.6)
    return [
        Route("bare async def (baseline)", "bare", "/async"),
        Route("bare def", "bare", "/sync"),
        Route(TRIVIAL_ROW, "charter", "/problems/not-found"),
        Route("health", "charter", "/api/v1/health", check=_json_field("status", "ok")),
        Route(
            "credential JSON 200",
            "charter",
            credential,
            goal=downloads,
            headers=as_json,
            check=_json_field("id", f"{settings.public_url.rstrip('/')}{credential}"),
        ),
        Route(
            "credential JSON 304",
            "charter",
            credential,
            goal=downloads,
            headers=as_json,
            expect=304,
            conditional=True,
        ),
        Route(
            "status list 200",
            "charter",
            status_list,
            goal=downloads,
            check=_starts_with(b"{", "a JSON status list"),
        ),
        Route(
            "status list 304", "charter", status_list, goal=downloads, expect=304, conditional=True
        ),
        Route(
            "baked PNG 200",
            "charter",
            badge,
            goal=downloads,
            check=_starts_with(b"\x89PNG\r\n\x1a\n", "a PNG"),
        ),
        Route("baked PNG 304", "charter", badge, goal=downloads, expect=304, conditional=True),
        Route(
            "credential page HTML",
            "charter",
            credential,
            goal=Goal("bare", 0.4),
            headers={"Accept": "text/html"},
            check=_content_type("text/html"),
        ),
        Route(
            "users/me (API key)",
            "charter",
            "/api/v1/users/me",
            goal=Goal("bare", 0.3),
            headers=bearer,
            check=_json_field("email", ADMIN_EMAIL),
        ),
        Route(
            f"{LIST_LIMIT}-item award list (API key)",
            "charter",
            seeded.list_path,
            goal=Goal("bare", 0.3),
            headers=bearer,
            check=_list_of(LIST_LIMIT),
        ),
        Route(
            "verify POST",
            "charter",
            "/api/v1/verify",
            goal=Goal("in-process", 0.5),
            headers={"Content-Type": "application/json"},
            body=json.dumps({"credential": document}).encode(),
            check=_valid_verdict,
        ),
        Route(
            "license validate POST",
            "charter",
            "/api/v1/licenses/validate",
            # Licensing's goal: half of a trivial route of the same server (its middleware,
            # its Uvicorn): the problem type page reads nothing.
            goal=Goal("row", 0.5, TRIVIAL_ROW),
            headers={"Content-Type": "application/json"},
            body=json.dumps(
                {
                    "key": seeded.license_key,
                    "product": seeded.product_code,
                    "feature": "analytics",
                    "nonce": "bench-nonce-0001",
                }
            ).encode(),
            check=_json_field("code", "VALID"),
        ),
    ]


TWO_WORKER_ROWS = ("credential JSON 200", "verify POST")


def two_worker_routes(one_worker: Sequence[Route]) -> list[Route]:
    """The credential JSON and verify rows again, for ``charter serve --workers 2``."""
    return [
        replace(
            route,
            name=route.name + TWO_WORKERS,
            goal=Goal("one worker", WORKERS_GOAL, route.name),
        )
        for route in one_worker
        if route.name in TWO_WORKER_ROWS
    ]


@contextmanager
def _postgres_database() -> Iterator[str]:
    """An empty throwaway database on the local PostgreSQL, dropped afterwards."""
    name = f"charter_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _settings_env(settings: Settings) -> dict[str, str]:
    return {
        "CHARTER_DATABASE_URL": settings.database_url,
        "CHARTER_PUBLIC_URL": settings.public_url,
        "CHARTER_SECRET_KEY": SECRET,
        "CHARTER_DATA_DIR": str(settings.data_dir),
        "CHARTER_LOG_LEVEL": settings.log_level,
        # wrk repeats one key from one address: the validation row measures the route, not
        # its rate limits.
        "CHARTER_LICENSE_VALIDATION_PER_KEY_PER_MINUTE": "1000000",
        "CHARTER_LICENSE_VALIDATION_PER_ADDRESS_PER_MINUTE": "1000000",
    }


def server_env(settings: Settings) -> dict[str, str]:
    """This process's environment with ``settings`` as the only ``CHARTER_*`` variables."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    return {**kept, **_settings_env(settings)}


@contextmanager
def _process_settings(settings: Settings) -> Iterator[None]:
    """Make ``settings`` this process's own for the block.

    The demo seeding signs with the process's settings (it takes only a URL), and the public
    URL in them becomes every credential's id: it must be the served one.
    """
    values = _settings_env(settings)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def seed_and_gather(settings: Settings) -> Seeded:
    """Seed the demo into the settings' database; pick a credential, its list and an API key."""
    started = time.perf_counter()
    with _process_settings(settings):
        seed(settings.database_url)
    seconds = time.perf_counter() - started
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine, settings).begin() as db:
            now = clock.now()
            # An active credential of an active award, far from expiry: valid for the whole run.
            credential = db.scalars(
                select(IssuedCredential)
                .join(Award, Award.id == IssuedCredential.award_id)
                .where(
                    IssuedCredential.status == CredentialStatus.ACTIVE.value,
                    Award.status == AwardStatus.ACTIVE.value,
                    Award.valid_until > now + timedelta(days=1),
                )
                .order_by(Award.valid_until.desc(), IssuedCredential.id)
                .limit(1)
            ).first()
            if credential is None:
                raise SystemExit("the demo holds no active person credential")
            admin = db.scalars(select(User).where(User.email == ADMIN_EMAIL)).one()
            _, api_key = accounts.create_api_key(
                db, accounts.principal_for(admin), user_id=admin.id, name="server benchmark"
            )
            license_key, product_code = issue_bench_license(db, accounts.principal_for(admin))
            awards = db.scalar(select(func.count()).select_from(Award)) or 0
            if awards < LIST_LIMIT:
                raise SystemExit(f"the demo holds {awards} awards, fewer than {LIST_LIMIT}")
            return Seeded(
                credential_id=credential.id,
                credential_text=credential.document,
                status_list_id=credential.revocation_list_id,
                api_key=api_key,
                list_path=f"/api/v1/awards?limit={LIST_LIMIT}",
                seconds=seconds,
                license_key=license_key,
                product_code=product_code,
            )
    finally:
        engine.dispose()


def _in_process_rate(settings: Settings, document_text: str, seconds: float) -> float:
    """Verifications per second on core 0, as the verify route runs them, without HTTP.

    Runs in a child process: the app's own local resolver and record lookup (its DID document
    and status lists from the database, kept between changes as the server keeps them; never
    the network), a fresh parse of the JSON each time as the route does, after one warm-up
    verification that must say valid.
    """
    os.sched_setaffinity(0, {int(SERVER_CORE)})
    # Listening as `charter serve` does: on PostgreSQL, what the route keeps between changes
    # (its status lists, DID document and records) is kept only where change notices arrive.
    app = create_app(settings, listen=True)
    watch = app.state.change_watch
    if isinstance(watch, ChangeNotices) and not watch.wait_listening(10.0):
        raise RuntimeError("the in-process verifier could not listen for change notices")
    resolver = app.state.verify_local_resolver
    local_status = app.state.verify_local_status
    try:
        first = verify_credential(
            json.loads(document_text), resolver=resolver, now=clock.now(), local_status=local_status
        )
        if first.status != "valid":
            raise RuntimeError(f"in-process verdict {first.status!r}: {first.reason}")
        count = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            verify_credential(
                json.loads(document_text),
                resolver=resolver,
                now=clock.now(),
                local_status=local_status,
            )
            count += 1
        return count / (time.perf_counter() - start)
    finally:
        if isinstance(watch, ChangeNotices):
            watch.close()
        app.state.engine.dispose()


def in_process_rate(settings: Settings, document_text: str) -> float:
    """:func:`_in_process_rate` in a fresh child process (spawned: no engine is inherited)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pending = pool.apply_async(_in_process_rate, (settings, document_text, IN_PROCESS_SECONDS))
        rate: float = pending.get(timeout=IN_PROCESS_TIMEOUT_S)
        return rate


@dataclass(frozen=True)
class Load:
    """How rows are loaded: wrk's connections and duration, and where its scripts go."""

    directory: Path
    duration: int
    connections: int

    def run(self, url: str, route: Route, headers: Mapping[str, str], seconds: int) -> WrkResult:
        """wrk from core 1 on ``url`` with ``headers`` (and ``route``'s body, if it has one)."""
        script = None
        if route.body is not None:
            name = re.sub(r"[^a-z0-9]+", "-", route.name.lower()).strip("-")
            script = wrk.post_script(self.directory, name, route.body)
        return wrk.run(
            url,
            core=LOAD_CORE,
            connections=self.connections,
            seconds=seconds,
            headers=headers,
            script=script,
        )


def _first_answer(
    client: httpx.Client, base: str, route: Route
) -> tuple[dict[str, str], str | None]:
    """The headers to load ``route`` with, and what is wrong with its first answer (if anything).

    For a conditional row the ETag of a plain first answer goes into ``If-None-Match``.
    """
    url = base + route.path
    headers = dict(route.headers)
    method = "POST" if route.body is not None else "GET"
    try:
        if route.conditional:
            plain = client.get(url, headers=headers)
            if plain.status_code != 200:
                return headers, f"answered {plain.status_code} without If-None-Match"
            etag = plain.headers.get("etag")
            if not etag:
                return headers, "no ETag"
            headers["If-None-Match"] = etag
        response = client.request(method, url, headers=headers, content=route.body)
        if response.status_code != route.expect:
            detail = response.text.strip().replace("\n", " ")[:120]
            return headers, f"answered {response.status_code} (expected {route.expect}): {detail}"
        if route.check is not None and (problem := route.check(response)):
            return headers, problem
        for _ in range(WARM_UP_REQUESTS):
            client.request(method, url, headers=headers, content=route.body)
    except httpx.HTTPError as error:
        return headers, f"no answer: {error!r}"
    return headers, None


def settle_or_say(servers: Sequence[Server]) -> None:
    """:func:`settle`, saying so when the servers did not."""
    if not settle(servers):
        print(f"  servers still busy after {SETTLE_TIMEOUT_S:.0f} s; going on", flush=True)


def measure(
    load: Load, base: str, route: Route, servers: Sequence[Server], seconds: int
) -> Measured:
    """Check ``route``'s first answer, then load it with wrk (a broken route is not loaded).

    The servers are left to finish what the previous row queued first.
    """
    settle_or_say(servers)
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        headers, problem = _first_answer(client, base, route)
    if problem is not None:
        print(f"  {route.name}: {problem}; not loaded", flush=True)
        return Measured(route, None, problem)
    try:
        result = load.run(base + route.path, route, headers, seconds)
    except RuntimeError as error:
        print(f"  {route.name}: {error}", flush=True)
        return Measured(route, None, str(error))
    p99 = "-" if result.p99_ms is None else f"{result.p99_ms:.1f}"
    print(
        f"  {route.name}: {result.requests_per_second:,.0f}/s, p99 {p99} ms, "
        f"errors {result.describe_errors()}",
        flush=True,
    )
    return Measured(route, result)


@dataclass
class Runner:
    """Loads rows one after another, each between two samples of the bare async route.

    This machine's speed drifts by tens of percent within a minute (other tenants of its
    host): a row compared with a baseline taken minutes before would measure the drift as
    much as the route. Each row is compared with the samples taken right before and after it.
    """

    load: Load
    baseline: Route
    bare_base: str
    samples: list[WrkResult] = field(default_factory=list)

    def sample(self, servers: Sequence[Server]) -> float:
        """One more sample of the bare async route; its rate."""
        seconds = min(self.load.duration, BASELINE_SECONDS)
        measured = measure(self.load, self.bare_base, self.baseline, servers, seconds)
        if measured.result is None:
            raise SystemExit(f"the baseline could not be measured: {measured.problem}")
        self.samples.append(measured.result)
        return measured.result.requests_per_second

    def row(self, route: Route, base: str, servers: Sequence[Server]) -> Measured:
        """``route`` loaded for the run's duration, with the baseline sampled around it."""
        before = self.samples[-1].requests_per_second if self.samples else self.sample(servers)
        measured = measure(self.load, base, route, servers, self.load.duration)
        if measured.result is None:
            return replace(measured, baseline=before)  # nothing ran: no new sample needed
        return replace(measured, baseline=(before + self.sample(servers)) / 2)

    def summary(self) -> Measured:
        """The baseline's own row: the mean of its samples, their range in the label."""
        rates = [sample.requests_per_second for sample in self.samples]
        mean = mean_result(self.samples)
        label = (
            f"bare async def (baseline; {len(rates)} runs: {min(rates):,.0f}-{max(rates):,.0f}/s)"
        )
        return Measured(self.baseline, mean, baseline=mean.requests_per_second, label=label)


def judge(
    measured: Measured, in_process: float | None, others: Mapping[str, Measured]
) -> tuple[str, str]:
    """The row's goal as text, and whether it is met (``yes``, or ``no: <why>``).

    Two workers are compared with one through their ratios to the bare async route (each to
    the samples around it), so that the machine's drift between the rows cancels out: the
    "adjusted" ratio, which the goal is judged on. The ratio of their raw rates is shown beside;
    the two differ by how much the bare route's rate moved between the rows.
    """
    goal, result, ratio = measured.route.goal, measured.result, measured.ratio
    reached: bool | None = None
    if goal.kind == "bare":
        text_ = f">= {goal.factor:.1f} x bare async"
        reached = None if ratio is None else ratio >= goal.factor
    elif goal.kind == "in-process":
        text_ = f">= {goal.factor:.1f} x in-process"
        if in_process:
            text_ += f" ({goal.factor * in_process:,.0f}/s)"
            if result is not None:
                reached = result.requests_per_second >= goal.factor * in_process
    elif goal.kind in ("one worker", "row"):
        text_ = f">= {goal.factor:.1f} x " + ("1 worker" if goal.kind == "one worker" else goal.of)
        one = others.get(goal.of)
        if (
            result is not None
            and ratio is not None
            and one is not None
            and one.result is not None
            and one.ratio
        ):
            raw = result.requests_per_second / one.result.requests_per_second
            text_ += f" (adjusted {ratio / one.ratio:.2f}; raw {raw:.2f})"
            reached = ratio / one.ratio >= goal.factor
    else:
        text_ = ""
    text_ = text_ or "-"
    if measured.problem == "no ETag":
        return text_, "n/a: no ETag"
    if result is None:
        return text_, f"no: {measured.problem}"
    misses = []
    if goal.kind != "none" and reached is None:
        misses.append(f"no {goal.of or goal.kind} rate to compare")
    elif reached is False:
        misses.append("rate")
    if result.p99_ms is None or result.p99_ms >= P99_GOAL_MS:
        misses.append("p99")
    if result.errors:
        misses.append("errors")
    return text_, "yes" if not misses else "no: " + ", ".join(misses)


def render(title: str, rows: Sequence[Measured], in_process: Sequence[float]) -> None:
    """The table: rate, ratio to the bare async route, p99, errors, goal and whether it is met."""
    in_process_mean = sum(in_process) / len(in_process) if in_process else None
    by_name = {m.route.name: m for m in rows}
    table = Table(title=title)
    goal_column = f"goal (and on every row: p99 < {P99_GOAL_MS:.0f} ms, no errors)"
    for column in ("route", "requests/s", "ratio to bare async", "p99 ms", "errors"):
        table.add_column(column)
    table.add_column(goal_column)
    table.add_column("met")
    for measured in rows:
        result = measured.result
        goal, met = judge(measured, in_process_mean, by_name)
        if result is None:
            table.add_row(measured.label or measured.route.name, "-", "-", "-", "-", goal, met)
            continue
        p99 = "-" if result.p99_ms is None else f"{result.p99_ms:.1f}"
        table.add_row(
            measured.label or measured.route.name,
            f"{result.requests_per_second:,.0f}",
            "-" if measured.ratio is None else f"{measured.ratio:.3f}",
            p99,
            result.describe_errors(),
            goal,
            met,
        )
        if measured.route.goal.kind == "in-process" and in_process_mean and measured.baseline:
            spread = f"{min(in_process):,.0f}-{max(in_process):,.0f}/s"
            table.add_row(
                f"  verify in-process, 1 core ({len(in_process)} runs: {spread})",
                f"{in_process_mean:,.0f}",
                f"{in_process_mean / measured.baseline:.3f}",
                "-",
                "-",
                f"server/in-process: {result.requests_per_second / in_process_mean:.2f}",
                "",
            )
    Console(width=180).print(table)


def _access_log_flag(charter: Path, env: Mapping[str, str]) -> list[str]:
    """``--no-access-log`` if ``charter serve`` has it (its log level alone is used otherwise)."""
    done = subprocess.run(
        [str(charter), "serve", "--help"],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
        timeout=60,
        check=False,
    )
    return ["--no-access-log"] if "--no-access-log" in done.stdout else []


def _selected(name: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(p in name.lower() for p in patterns)


def _bare_command(port: int) -> list[str]:
    return [
        *("taskset", "-c", SERVER_CORE, sys.executable, "-m", "uvicorn", "bench.bare_app:app"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--log-level", "warning", "--no-access-log"),
    ]


def _charter_command(charter: Path, port: int, workers: int, quiet: Sequence[str]) -> list[str]:
    # One worker shares core 0 with the bare app; two are left to the scheduler.
    pinned = ["taskset", "-c", SERVER_CORE] if workers == 1 else []
    serve = [str(charter), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return [*pinned, *serve, "--workers", str(workers), *quiet]


def run(args: argparse.Namespace, directory: Path, database_url: str) -> None:
    """Seed, serve, load every selected row and print the table."""
    patterns = [p.strip().lower() for p in (args.routes or "").split(",") if p.strip()]
    charter = Path(sys.executable).with_name("charter")
    if not charter.exists():
        raise SystemExit(f"no charter command beside {sys.executable} (run `make install`)")
    bare_port, charter_port = free_port(), free_port()
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        data_dir=directory / "data",
        public_url=f"http://127.0.0.1:{charter_port}",
        log_level="warning",
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    load_before = os.getloadavg()[0]
    print(f"Seeding the demo program into {backend}...", flush=True)
    seeded = seed_and_gather(settings)
    print(f"  seeded in {seeded.seconds:.1f} s; credential {seeded.credential_id}", flush=True)
    env = server_env(settings)
    quiet = _access_log_flag(charter, env)
    baseline_route, *rest = routes(seeded, settings)
    chosen = [r for r in rest if _selected(r.name, patterns)]
    compare = args.workers_compare if args.workers_compare is not None else args.postgres
    doubled = [r for r in two_worker_routes(rest) if compare and _selected(r.name, patterns)]
    load = Load(directory, args.duration, args.connections)
    bare_base = f"http://127.0.0.1:{bare_port}"
    charter_base = f"http://127.0.0.1:{charter_port}"
    logs = {"bare app": directory / "bare.log", "Charter": directory / "charter.log"}
    rows: list[Measured] = []
    in_process: list[float] = []
    print(
        f"Loading with wrk -t1 -c{args.connections} -d{args.duration}s on core {LOAD_CORE}, "
        f"servers on core {SERVER_CORE}; access log: "
        + ("--no-access-log" if quiet else "log level warning (serve has no --no-access-log)"),
        flush=True,
    )

    def verify_in_process(servers: Sequence[Server]) -> None:
        settle_or_say(servers)  # the child reads the same database
        try:
            in_process.append(in_process_rate(settings, seeded.credential_text))
        except Exception as error:  # whatever the child died of: reported, the run goes on
            print(f"  verify in-process failed: {error!r}", flush=True)
            return
        print(f"  verify in-process, 1 core: {in_process[-1]:,.0f}/s", flush=True)

    with serving(
        "the bare app",
        _bare_command(bare_port),
        cwd=ROOT,
        env=env,
        log=logs["bare app"],
        probe=f"{bare_base}/async",
    ) as bare:
        runner = Runner(load, baseline_route, bare_base)
        with serving(
            "charter serve --workers 1",
            _charter_command(charter, charter_port, 1, quiet),
            cwd=ROOT,
            env=env,
            log=logs["Charter"],
            probe=f"{charter_base}/api/v1/health",
        ) as one_worker:
            servers = [bare, one_worker]
            for route in chosen:
                verifies = route.goal.kind == "in-process"
                if verifies:
                    verify_in_process(servers)
                base = bare_base if route.server == "bare" else charter_base
                rows.append(runner.row(route, base, servers))
                if verifies:
                    verify_in_process(servers)
        if doubled:
            with serving(
                "charter serve --workers 2",
                _charter_command(charter, charter_port, 2, quiet),
                cwd=ROOT,
                env=env,
                log=logs["Charter"],
                probe=f"{charter_base}/api/v1/health",
            ) as two_workers:
                rows.extend(
                    runner.row(route, charter_base, [bare, two_workers]) for route in doubled
                )
        if not runner.samples:
            runner.sample([bare])
    rows.insert(0, runner.summary())
    title = (
        f"Server load on {backend}: Charter on one worker pinned to core {SERVER_CORE}"
        + (" (2-worker rows unpinned)" if doubled else "")
        + f", wrk -c{args.connections} for {args.duration} s a row; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    render(title, rows, in_process)
    for what, log in logs.items():
        errors = log_errors(log)
        if errors:
            print(f"The {what} server logged {errors.total()} exceptions:")
            for message, count in errors.most_common(5):
                print(f"  {count} x {message}")


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options and run the benchmark in a temporary directory."""
    parser = argparse.ArgumentParser(prog="python -m bench server", description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="seconds per row (default 5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--routes", help="only rows whose names contain one of these (a,b,...)")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL database on 127.0.0.1"
    )
    parser.add_argument(
        "--workers-compare",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run credential JSON and verify on 2 workers (default: with --postgres)",
    )
    args = parser.parse_args(argv)
    args.duration = min(max(args.duration, 1), 60)
    args.connections = min(max(args.connections, 1), 1000)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (`make wrk` installs wrk)")
    if not {int(SERVER_CORE), int(LOAD_CORE)} <= os.sched_getaffinity(0):
        raise SystemExit(f"needs cores {SERVER_CORE} and {LOAD_CORE}")

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    # A plain kill ends the run through its finally blocks too: the servers do not outlive it.
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with tempfile.TemporaryDirectory(prefix="charter-bench-") as name:
            directory = Path(name)
            if args.postgres:
                with _postgres_database() as url:
                    run(args, directory, url)
            else:
                run(args, directory, f"sqlite:///{directory / 'charter.db'}")
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main(sys.argv[1:])
