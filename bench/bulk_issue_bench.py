"""Bulk issuance: awards signed and stored per second, on both cores, against one core signing.

``python -m bench bulk [--rows N] [--backends sqlite,postgresql]``. For each backend the run
inserts N people and N awards with plain executemany (not timed), then measures:

- the single-core signing rate: build, check and sign the same credentials in this process,
  as the single-award path does, without storing them (the baseline); the rate on the
  credentials benchmark's typical credential is shown beside it;
- bulk issuance with one worker process and with two, each signing and storing every credential
  with its status-list entries and events, in one transaction, each on a fresh database
  holding the same rows.

Each bulk run is paired with its own baseline: the mean of signing-rate samples taken right
before and right after it, on the same database. This machine's speed drifts by tens of percent
over minutes (other tenants of its host), and a run compared with a baseline taken at another
moment measures that drift as much as the code. It prints each configuration's awards per
second and its ratio to the paired baseline, as the median over its runs with their range
(goal: a median of at least 1.5 with two workers).
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import credentials_bench
from bench.import_bench import (
    ACTOR,
    AWARDS_SQL,
    EMAILS_SQL,
    EMPLOYMENTS_SQL,
    PEOPLE_SQL,
    database,
    generate,
    plain_insert,
    plain_rows,
    setup,
)
from charter.config import Settings
from charter.core import clock
from charter.core.ids import new_id
from charter.credentials import documents, proofs, sources, status, statuslist
from charter.credentials.bulk import pipeline
from charter.credentials.models import Award
from charter.crypto import keyring
from charter.db.engine import make_engine, make_sessionmaker, use_settings

SIGNING_SAMPLE = 5_000


def _settings(directory: Path) -> Settings:
    return Settings(
        database_url="sqlite://",
        secret_key="bench-secret-not-for-production",
        data_dir=directory,
        public_url="http://127.0.0.1:8000",
    )


def _signing_rate(sessions, settings: Settings, count: int) -> float:  # type: ignore[no-untyped-def]
    """Credentials built, schema-checked and signed per second on one core (nothing stored).

    The same credentials as the bulk runs (the benchmark's first ``count`` awards, with their
    holders, achievement and issuer), built and signed as ``issuance.issue_credential`` does, in
    this process. The batch data is loaded and status indexes are made up before the
    clock starts; nothing is written (the transaction is rolled back).
    """
    with sessions() as db, db.begin():
        awards = db.query(Award).limit(count + 1).all()
        signer = keyring.active_signer(db, settings)
        context = sources.load_programs(db, awards)
        holders = sources.load_holders(db, awards)
        achievements = documents.achievements(settings, context)
        issuer = documents.issuer_profile(settings, signer.controller)
        now = clock.now()
        items = [
            documents.DocumentFacts(
                award.id,
                documents.credential_url(settings, new_id("bdg")),
                documents.achievement_key(award),
                holders.emails[award.person_id],
                secrets.token_hex(16),
                award.issued_at,
                award.valid_until,
                statuslist.status_entry(
                    status.list_url(settings, "stl_01JZZZZZZZZZZZZZZZZZZZZZZZ"), index, "revocation"
                ),
                holders.dids.get(award.person_id),
                award.issued_at,  # a first credential: awarded when it is valid from
            )
            for index, award in enumerate(awards)
        ]

        def sign(item) -> None:  # type: ignore[no-untyped-def]
            document = documents.build_document(issuer, achievements, item)
            documents.require_conforming(document)
            proofs.create_proof(document, signer.private_key, signer.verification_method, now)

        sign(items[0])  # compile the shape first, as a running server has
        start = time.perf_counter()
        for item in items[1:]:
            sign(item)
        seconds = time.perf_counter() - start
        db.rollback()
    return (len(items) - 1) / seconds


def _typical_signing_rate(count: int) -> float:
    """The same on :mod:`bench.credentials_bench`'s typical credential (for comparison)."""
    issuer = credentials_bench.Issuer()
    credentials_bench.issue(issuer, 0)
    start = time.perf_counter()
    for index in range(1, count + 1):
        credentials_bench.issue(issuer, index)
    return count / (time.perf_counter() - start)


def _bulk(sessions, settings: Settings, workers: int) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    engine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        # The server writes out what loading the rows left in its buffers now, not mid-run.
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("CHECKPOINT")
    with sessions() as db, db.begin():
        awards = db.query(Award).all()
        # Start from quiet disks: what loading the rows wrote is not flushed during the run.
        os.sync()
        start = time.perf_counter()
        issued = pipeline.issue_credentials_bulk(db, ACTOR, awards, settings, workers=workers)
    seconds = time.perf_counter() - start
    return len(issued), seconds


@contextmanager
def _loaded(backend: str, directory: Path, settings: Settings) -> Iterator[tuple[Any, Any]]:
    """A fresh database holding the benchmark's people and awards (loaded, not timed)."""
    with database(backend, directory) as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        use_settings(sessions, settings)
        try:
            certification_id, criteria_id, partner_rows = setup(engine, directory)
            people, emails, employments, awards = plain_rows(
                backend, directory, dict(partner_rows), certification_id, criteria_id
            )
            plain_insert(
                engine,
                [
                    (PEOPLE_SQL, people),
                    (EMAILS_SQL, emails),
                    (EMPLOYMENTS_SQL, employments),
                    (AWARDS_SQL, awards),
                ],
            )
            yield engine, sessions
        finally:
            engine.dispose()


BULK_RUNS = {1: 1, 2: 3}
"""How many times each bulk configuration runs: the two-worker figure is the one the goal is
about, and one run says little on a machine whose speed drifts."""
BASELINE_SAMPLES = 2
"""Signing-rate samples taken right before and again right after each bulk run."""


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def bench_backend(
    backend: str, directory: Path, rows: int
) -> list[tuple[str, str, float, float, str]]:
    settings = _settings(directory)
    sample = min(SIGNING_SAMPLE, rows)
    with _loaded(backend, directory, settings) as (_, sessions):
        first = [_signing_rate(sessions, settings, sample) for _ in range(3)]
        typical = [_typical_signing_rate(sample) for _ in range(3)]
    baselines: list[float] = list(first)
    results: list[tuple[str, str, float, float, str]] = []
    for workers, runs in BULK_RUNS.items():
        rates: list[float] = []
        ratios: list[float] = []
        for _ in range(runs):
            # Each run on a fresh database with the same rows: one run's leftovers (free
            # pages, a longer events log) would slow the next.
            with _loaded(backend, directory, settings) as (_, sessions):
                around = [
                    _signing_rate(sessions, settings, sample) for _ in range(BASELINE_SAMPLES)
                ]
                count, seconds = _bulk(sessions, settings, workers)
                around += [
                    _signing_rate(sessions, settings, sample) for _ in range(BASELINE_SAMPLES)
                ]
            baselines.extend(around)
            rates.append(count / seconds)
            ratios.append(rates[-1] / (sum(around) / len(around)))
        label = f"bulk issue + store, {workers} worker{'s' if workers > 1 else ''}"
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if runs > 1 else ""
        if runs > 1:
            label += f" (median of {runs})"
        results.append((backend, label, _median(rates), _median(ratios), spread))
    baseline = _median(baselines)
    return [
        (
            backend,
            f"single-core signing (baseline, median of {len(baselines)} samples)",
            baseline,
            1.0,
            f"{min(baselines):,.0f}-{max(baselines):,.0f}/s",
        ),
        (
            backend,
            "single-core signing, credentials bench",
            _median(typical),
            _median(typical) / baseline,
            "",
        ),
        *results,
    ]


def render(results: Sequence[tuple[str, str, float, float, str]], rows: int) -> None:
    table = Table(title=f"Bulk issuance of {rows:,} awards (signed and stored)")
    for column in ("backend", "what", "awards/s", "ratio to single-core signing", "range"):
        table.add_column(column)
    for backend, what, rate, ratio, spread in results:
        table.add_row(backend, what, f"{rate:,.0f}", f"{ratio:.2f}", spread)
    Console(width=140).print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench bulk", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    rows = max(args.rows, 10)
    results: list[tuple[str, str, float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as name:
        directory = Path(name)
        generate(directory, rows, max(rows // 100, 1))
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            results.extend(bench_backend(backend, directory, rows))
            render(results, rows)
