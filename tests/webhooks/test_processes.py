"""``charter worker`` as real processes: one killed with SIGKILL mid-batch loses nothing, and
two on PostgreSQL share the work without doing any job twice (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from charter.core import events
from charter.webhooks import service
from charter.webhooks.enums import DeliveryStatus
from charter.webhooks.models import WebhookDelivery
from charter.webhooks.schemas import EndpointCreate
from charter.worker.models import Job, JobAttempt

pytestmark = pytest.mark.slow


class Thing:
    def __init__(self, n: int) -> None:
        self.id = f"thing_{n}"


def _prepare(sessions, system, settings, receiver, count: int) -> None:
    with sessions() as db, db.begin():
        service.create_endpoint(
            db, system, settings, data=EndpointCreate(url=receiver.url, event_types=["test.*"])
        )
    with sessions() as db, db.begin():
        for n in range(count):
            events.append(db, system, "test.ping", Thing(n), n=n)


def _start(database_url: str, settings, tmp_path: Path, name: str, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "CHARTER_DATABASE_URL": database_url,
        "CHARTER_SECRET_KEY": settings.secret_key,
        "CHARTER_DATA_DIR": str(tmp_path),
        "CHARTER_WEBHOOK_ALLOW_PRIVATE": "true",
        "CHARTER_WORKER_LEASE_SECONDS": "3",
        "CHARTER_WORKER_POLL_SECONDS": "0.05",
        "CHARTER_WORKER_BATCH_SIZE": "4",
    }
    with (tmp_path / f"{name}.log").open("w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "charter.cli.main", "worker", "--name", name, *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _delivered(sessions) -> int:
    with sessions() as db:
        return db.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status == DeliveryStatus.DELIVERED.value)
        )


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_killed_worker_loses_nothing(
    sessions, system, settings, receiver, database_url, tmp_path, engine
):
    count = 40
    receiver.delay = 0.05
    _prepare(sessions, system, settings, receiver, count)

    first = _start(database_url, settings, tmp_path, "first")
    try:
        _wait(lambda: len(receiver.requests) >= 12, 60, "the first worker to get going")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    at_kill = len(receiver.requests)
    assert at_kill < count, "the first worker finished before it could be killed"

    second = _start(database_url, settings, tmp_path, "second")
    try:
        _wait(lambda: _delivered(sessions) == count, 120, "every delivery to be recorded")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
    assert "stopped (signal)" in (tmp_path / "second.log").read_text()

    with sessions() as db:
        deliveries = db.scalars(select(WebhookDelivery)).all()
        attempts = db.execute(
            select(Job.ref, JobAttempt.outcome, JobAttempt.worker)
            .join(JobAttempt, JobAttempt.job_id == Job.id)
            .where(Job.name == service.DELIVER_TASK)
        ).all()
    assert len(deliveries) == count
    assert all(d.status == DeliveryStatus.DELIVERED for d in deliveries)
    done = Counter(ref for ref, outcome, _ in attempts if outcome == "done")
    assert done == dict.fromkeys((d.id for d in deliveries), 1)  # recorded delivered once each
    lost = {ref for ref, outcome, _ in attempts if outcome == "lost"}
    assert lost, "the killed worker held claimed jobs"
    seen = Counter(receiver.deliveries())
    assert set(seen) == {d.id for d in deliveries}  # the receiver saw every delivery id
    duplicates = {delivery_id for delivery_id, times in seen.items() if times > 1}
    # Only a request in flight when the worker died can arrive twice: one at a time per worker.
    assert duplicates <= lost
    assert len(duplicates) <= 1


def test_two_workers_share_the_work_each_job_once(
    sessions, system, settings, receiver, database_url, tmp_path, backend
):
    if backend != "postgresql":
        pytest.skip("several worker processes are a PostgreSQL deployment")
    count = 80
    receiver.delay = 0.03
    _prepare(sessions, system, settings, receiver, count)

    workers = [
        _start(database_url, settings, tmp_path, name, "--until-idle") for name in ("one", "two")
    ]
    for process in workers:
        assert process.wait(timeout=120) == 0

    with sessions() as db:
        statuses = Counter(db.scalars(select(WebhookDelivery.status)))
        attempts = db.execute(
            select(Job.key, JobAttempt.outcome, JobAttempt.worker).join(
                JobAttempt, JobAttempt.job_id == Job.id
            )
        ).all()
    assert statuses == {"delivered": count}
    per_job = Counter(key for key, _, _ in attempts)
    assert set(per_job.values()) == {1}, "a job was attempted twice"
    assert all(outcome == "done" for _, outcome, _ in attempts)
    seen = Counter(receiver.deliveries())
    assert len(seen) == count
    assert set(seen.values()) == {1}
    deliverers = Counter(
        worker for key, _, worker in attempts if key.startswith(f"task:{service.DELIVER_TASK}")
    )
    assert set(deliverers) == {"one", "two"}, deliverers
    assert min(deliverers.values()) >= count // 10, deliverers


def test_sigterm_finishes_the_current_delivery_then_exits(
    sessions, system, settings, receiver, database_url, tmp_path, engine
):
    receiver.delay = 2.0
    _prepare(sessions, system, settings, receiver, 3)

    worker = _start(database_url, settings, tmp_path, "stopping")
    try:
        _wait(lambda: len(receiver.requests) >= 1, 60, "the first delivery to be under way")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    assert len(receiver.requests) == 1  # it started nothing after the signal
    with sessions() as db:
        statuses = sorted(db.scalars(select(WebhookDelivery.status)))
        leased = db.scalar(select(func.count()).select_from(Job).where(Job.status == "running"))
    assert statuses == ["delivered", "pending", "pending"]  # the one under way was finished
    assert leased == 0  # the rest were handed back, not left to a lease

    receiver.delay = 0
    again = _start(database_url, settings, tmp_path, "again", "--until-idle")
    assert again.wait(timeout=60) == 0
    assert _delivered(sessions) == 3
    assert sorted(Counter(receiver.deliveries()).values()) == [1, 1, 1]
