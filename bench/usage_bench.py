"""Usage ingestion through ``charter serve`` against a plain insert of the same rows.

For each database (a temporary SQLite file, and a PostgreSQL database created and dropped
here), the benchmark seeds one active firm with a license, then:

- plain: writes the rows ingestion stores (``usage_records``, same schema and unique index) in
  batches with the driver alone: ``executemany`` on SQLite, binary ``COPY`` on PostgreSQL, each
  batch committed on its own, as each request is (no parsing, checks, rollups or HTTP);
- API: a real ``charter serve --workers 1`` on a fresh database of the same kind, sent the same
  records in batches (``POST /api/v1/usage``, authenticated by the license key) over HTTP from
  ``--clients`` client threads with keep-alive connections; JSON is encoded as it is sent.

The ratio is API records/s divided by plain records/s (the goal is >= 0.3). Each phase stops
after ``--max-seconds`` and is measured on what it did by then. At the end the benchmark
checks that the server stored every record once and that the rollup adds up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.import_bench import database
from bench.servers import free_port, serving
from charter.config import Settings
from charter.core.auth import Principal
from charter.core.ids import new_id
from charter.db import bulk
from charter.db.engine import make_engine, make_sessionmaker
from charter.licensing import agreements, products
from charter.licensing import service as licenses
from charter.licensing.schemas import (
    AgreementSign,
    LicenseCreate,
    ProductCreate,
    TemplateCreate,
)
from charter.licensing.usage import USAGE_RECORDS
from charter.licensing.usage_models import UsageRecord, UsageRollup
from charter.partners import firms, onboarding
from charter.partners.enums import OnboardingCheck, PartnerStatus
from charter.partners.schemas import PartnerCreate
from charter.tiers import flows

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-not-for-production"
ACTOR = Principal.system("bench")
GOAL = 0.3
METRIC = "api_calls"


@dataclass
class Result:
    backend: str
    plain_rate: float
    api_rate: float
    api_records: int
    stored_ok: bool

    @property
    def ratio(self) -> float:
        return self.api_rate / self.plain_rate if self.plain_rate else 0.0


def _terms() -> dict[str, object]:
    return {
        "features": [],
        "rights": dict.fromkeys(
            (
                "use",
                "reproduce",
                "distribute",
                "modify",
                "derivative_works",
                "sublicense",
                "white_label",
            ),
            True,
        ),
        "territory": {"regions": ["emea"]},
        "term": {"months": 12, "renewal": "on_request"},
        "fee": {
            "model": "usage",
            "unit": METRIC,
            "currency": "EUR",
            "tiers": [{"up_to": 1_000_000, "rate": "0.01"}, {"up_to": None, "rate": "0.005"}],
        },
        "royalty_percent": "0",
        "audit": {"allowed": False},
        "termination": {"wind_down_days": 0},
    }


def seed(url: str, settings: Settings) -> tuple[str, str, datetime]:
    """An active firm with a signed usage agreement and a license: (license id, key, start)."""
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        factory.configure(info={"settings": settings})
        with factory() as db, db.begin():
            firm = firms.create_partner(
                db,
                ACTOR,
                data=PartnerCreate(
                    name="Bench Metering GmbH", type="reseller", regions=["emea"], country="DE"
                ),
            )
            for check in OnboardingCheck:
                onboarding.set_onboarding_check(
                    db, ACTOR, partner_id=firm.id, check=check, done=True, note="bench"
                )
            for status in (PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE):
                flows.change_partner_status(
                    db, ACTOR, partner_id=firm.id, status=status, reason="bench"
                )
            product = products.create_product(
                db, ACTOR, data=ProductCreate(code="BENCH", name="Bench platform")
            )
            offer = agreements.create_template(
                db,
                ACTOR,
                data=TemplateCreate.model_validate(
                    {
                        "code": "BENCH-USAGE",
                        "name": "Usage agreement",
                        "product_id": product.id,
                        "version": {"terms": _terms()},
                    }
                ),
            )
            signed = agreements.sign_agreement(
                db,
                ACTOR,
                partner_id=firm.id,
                data=AgreementSign(
                    template_id=offer.id, signer_name="Bench Signer", signer_email="b@example.com"
                ),
            )
            issued, key = licenses.issue_license(
                db, ACTOR, data=LicenseCreate(agreement_id=signed.id, seats=1)
            )
            return issued.id, key, issued.valid_from
    finally:
        engine.dispose()


def records(start: datetime, first: int, count: int) -> list[dict[str, object]]:
    """Records ``first`` to ``first + count - 1``: all within a second of the license start."""
    return [
        {
            "metric": METRIC,
            "quantity": 1 + n % 5,
            "occurred_at": (start + timedelta(microseconds=n)).isoformat(),
            "record_id": f"rec-{n:09d}",
        }
        for n in range(first, first + count)
    ]


def batches(total: int, size: int) -> Iterator[tuple[int, int]]:
    for first in range(0, total, size):
        yield first, min(size, total - first)


def plain(url: str, settings: Settings, total: int, size: int, limit: float) -> tuple[int, float]:
    """Rows written and seconds taken by the driver alone, a transaction a batch."""
    license_id, _key, start = seed(url, settings)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    dialect = engine.dialect.name
    written = 0
    began = time.perf_counter()
    try:
        for first, count in batches(total, size):
            received = bulk.bound_time(datetime.now(start.tzinfo), dialect)
            rows = [
                (
                    new_id("usg"),
                    license_id,
                    METRIC,
                    1 + n % 5,
                    bulk.bound_time(start + timedelta(microseconds=n), dialect),
                    f"rec-{n:09d}",
                    received,
                )
                for n in range(first, first + count)
            ]
            with factory() as db, db.begin():
                bulk.insert_rows(db, USAGE_RECORDS, rows)
            written += count
            if time.perf_counter() - began > limit:
                break
        return written, time.perf_counter() - began
    finally:
        engine.dispose()


def _env(settings: Settings) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    return {
        **kept,
        "CHARTER_DATABASE_URL": settings.database_url,
        "CHARTER_SECRET_KEY": SECRET,
        "CHARTER_DATA_DIR": str(settings.data_dir),
        "CHARTER_LOG_LEVEL": "warning",
    }


def through_api(
    url: str, settings: Settings, total: int, size: int, clients: int, limit: float
) -> tuple[int, float, bool]:
    """Records sent, seconds taken, and whether the server stored each once, summed right."""
    license_id, key, start = seed(url, settings)
    charter = Path(sys.executable).with_name("charter")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pending = iter(list(batches(total, size)))
    lock = threading.Lock()
    sent = [0]
    failures: list[str] = []
    began = 0.0

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60.0) as http:
            while not failures and time.perf_counter() - began <= limit:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                body = json.dumps({"key": key, "records": records(start, *item)})
                response = http.post(
                    "/api/v1/usage", content=body, headers={"content-type": "application/json"}
                )
                if response.status_code != 200 or response.json()["accepted"] != item[1]:
                    failures.append(f"{response.status_code}: {response.text[:300]}")
                    return
                with lock:
                    sent[0] += item[1]

    log = settings.data_dir / "charter.log"
    command = [str(charter), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with serving(
        "charter serve",
        [*command, "--workers", "1"],
        cwd=ROOT,
        env=_env(settings),
        log=log,
        probe=f"{base}/api/v1/health",
    ):
        threads = [threading.Thread(target=client) for _ in range(clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
    if failures:
        raise SystemExit(f"the server refused a batch: {failures[0]}")
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            stored = db.scalar(select(func.count()).select_from(UsageRecord))
            summed = db.scalar(
                select(func.sum(UsageRollup.total)).where(UsageRollup.license_id == license_id)
            )
    finally:
        engine.dispose()
    expected = sum(1 + n % 5 for n in range(sent[0]))
    return sent[0], seconds, stored == sent[0] and summed == expected


def bench_backend(
    backend: str, directory: Path, total: int, size: int, clients: int, limit: float
) -> Result:
    data = directory / backend
    data.mkdir(exist_ok=True)
    with database(backend, directory) as url:
        settings = Settings(database_url=url, secret_key=SECRET, data_dir=data)
        written, plain_seconds = plain(url, settings, total, size, limit)
    print(f"  {backend} plain: {written:,} rows in {plain_seconds:.1f} s", flush=True)
    with database(backend, directory) as url:
        settings = Settings(database_url=url, secret_key=SECRET, data_dir=data)
        sent, api_seconds, ok = through_api(url, settings, total, size, clients, limit)
    print(f"  {backend} API: {sent:,} records in {api_seconds:.1f} s", flush=True)
    return Result(backend, written / plain_seconds, sent / api_seconds, sent, ok)


def render(results: Sequence[Result]) -> None:
    print(f"{'database':<12}{'plain rows/s':>14}{'API records/s':>15}{'ratio':>8}  goal  stored")
    for result in results:
        met = "met" if result.ratio >= GOAL else "MISSED"
        print(
            f"{result.backend:<12}{result.plain_rate:>14,.0f}{result.api_rate:>15,.0f}"
            f"{result.ratio:>8.3f}  {met:<5} {'once' if result.stored_ok else 'WRONG'}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench usage", description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000, help="records (1000000)")
    parser.add_argument("--batch", type=int, default=1000, help="records a batch (1000)")
    parser.add_argument("--clients", type=int, default=1, help="client threads (1)")
    parser.add_argument(
        "--max-seconds", type=float, default=600.0, help="bound on each phase (600)"
    )
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    args = parser.parse_args(argv)
    total = max(args.records, 1)
    size = min(max(args.batch, 1), 1000)
    results: list[Result] = []
    print(f"{total:,} usage records in batches of {size:,}, {args.clients} client(s)")
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as name:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            results.append(
                bench_backend(backend, Path(name), total, size, args.clients, args.max_seconds)
            )
    render(results)
