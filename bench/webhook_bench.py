"""Webhook delivery: events per second to a local receiver with two worker processes.

``python -m bench webhooks [--events N] [--backends postgresql,sqlite]``. For each backend the
run creates a database with one endpoint subscribed to every ``bench.*`` event, pointing at a
receiver on 127.0.0.1 (a threaded HTTP/1.1 server in this process that answers 204 at once),
and starts ``charter worker`` processes that poll while idle. It then appends N events in one
transaction and times how long the workers take until every delivery is recorded delivered
(each event is one fan-out job and one signed HTTP POST), and reads the CPU time the workers
used meanwhile (from ``/proc``; "n/a" elsewhere). One worker is measured first, as
the baseline, then two, on the same database; the ratio is two workers' rate over one's.

Bounded: N events per measurement (2,000 by default), each run stops by itself (a 10-minute
cap per measurement), and only 127.0.0.1 is called.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bench.import_bench import database
from charter.config import Settings
from charter.core import events
from charter.core.auth import Principal
from charter.db.engine import make_engine, make_sessionmaker, use_settings
from charter.webhooks import service
from charter.webhooks.enums import DeliveryStatus
from charter.webhooks.models import WebhookDelivery
from charter.webhooks.schemas import EndpointCreate

SECRET = "bench-secret-not-for-production"
ACTOR = Principal.system("bench")
TIME_LIMIT = 600.0


class Receiver:
    """Counts requests; keeps connections alive so the workers' pools reuse them."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.count += 1
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Thing:
    def __init__(self, n: int) -> None:
        self.id = f"thing_{n}"


def _workers(url: str, directory: Path, count: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "CHARTER_DATABASE_URL": url,
        "CHARTER_SECRET_KEY": SECRET,
        "CHARTER_DATA_DIR": str(directory),
        "CHARTER_WEBHOOK_ALLOW_PRIVATE": "true",
        "CHARTER_WORKER_POLL_SECONDS": "0.02",
        "CHARTER_LOG_LEVEL": "warning",
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "charter.cli.main", "worker", "--name", f"bench-{n}"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for n in range(count)
    ]


def _delivered(sessions: Any) -> int:
    with sessions() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.status == DeliveryStatus.DELIVERED.value)
            )
            or 0
        )


def _cpu_seconds(processes: Sequence[subprocess.Popen[bytes]]) -> float | None:
    """User and system CPU time the processes have used so far (Linux ``/proc``), or None."""
    total = 0.0
    for process in processes:
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measure(
    url: str, directory: Path, sessions: Any, *, workers: int, count: int
) -> tuple[float, float | None]:
    """Events per second delivered by ``workers`` processes (started and idle beforehand), and
    the workers' CPU milliseconds per event (None where it cannot be read)."""
    before = _delivered(sessions)
    processes = _workers(url, directory, workers)
    try:
        time.sleep(3.0)  # let them import and reach their idle poll
        cpu_before = _cpu_seconds(processes)
        with sessions() as db, db.begin():
            drafts = [
                events.Draft("bench.ping", "thing", Thing(n).id, {"n": n}) for n in range(count)
            ]
            events.append_many(db, ACTOR, drafts)
        start = time.perf_counter()
        while _delivered(sessions) < before + count:
            if time.perf_counter() - start > TIME_LIMIT:
                raise SystemExit(f"{workers} worker(s) did not finish in {TIME_LIMIT:.0f} s")
            time.sleep(0.05)
        rate = count / (time.perf_counter() - start)
        cpu_after = _cpu_seconds(processes)
        if cpu_before is None or cpu_after is None:
            return rate, None
        return rate, (cpu_after - cpu_before) * 1000 / count
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


Result = tuple[str, str, float, float, float | None]


def bench_backend(backend: str, directory: Path, count: int) -> list[Result]:
    """One worker, then two, on a fresh database of ``backend``."""
    receiver = Receiver()
    try:
        with database(backend, directory) as url:  # PostgreSQL's is dropped afterwards
            engine = make_engine(url)
            settings = Settings(
                database_url=url,
                secret_key=SECRET,
                data_dir=directory,
                webhook_allow_private=True,
            )
            sessions = make_sessionmaker(engine)
            use_settings(sessions, settings)
            with sessions() as db, db.begin():
                service.create_endpoint(
                    db,
                    ACTOR,
                    settings,
                    data=EndpointCreate(url=receiver.url, event_types=["bench.*"]),
                )
            one, one_cpu = measure(url, directory, sessions, workers=1, count=count)
            two, two_cpu = measure(url, directory, sessions, workers=2, count=count)
            engine.dispose()
    finally:
        receiver.close()
    return [
        (backend, "1 worker (baseline)", one, 1.0, one_cpu),
        (backend, "2 workers", two, two / one, two_cpu),
    ]


def render(results: Sequence[Result], count: int) -> None:
    table = Table(title=f"Webhook delivery of {count:,} events to a local receiver")
    columns = ("backend", "workers", "events/s", "ratio to one worker", "worker CPU ms/event")
    for column in columns:
        table.add_column(column)
    for backend, what, rate, ratio, cpu in results:
        shown = "n/a" if cpu is None else f"{cpu:.2f}"
        table.add_row(backend, what, f"{rate:,.0f}", f"{ratio:.2f}", shown)
    Console(width=120).print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench webhooks", description=__doc__)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args(argv)
    count = min(max(args.events, 10), 100_000)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as name:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            results.extend(bench_backend(backend, Path(name), count))
    render(results, count)


if __name__ == "__main__":
    main(sys.argv[1:])
