"""The worker: events become jobs exactly once, periodic tasks run once per period, failures
are retried with backoff and then dead, and a job whose worker died is taken over."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from charter.accounts.models import User
from charter.core import events
from charter.worker import jobs, registry
from charter.worker.enums import JobStatus
from charter.worker.models import Job, JobAttempt
from charter.worker.registry import EventHandler, PeriodicTask, RetryPolicy, Task
from charter.worker.runner import run_until_idle
from charter.worker.worker import Worker


class Subject:
    def __init__(self, id: str) -> None:
        self.id = id
        self.__event_subject__ = "thing"


def _append(sessions, system, type_: str, n: int = 1) -> list[str]:
    ids = []
    with sessions() as db, db.begin():
        for i in range(n):
            ids.append(events.append(db, system, type_, Subject(f"thing_{i}"), n=i).id)
    return ids


@pytest.fixture
def seen(monkeypatch):
    """A test handler for ``test.*`` events that records the event ids it saw."""
    calls: list[str] = []

    def run(db, actor, event):
        calls.append(event.id)

    monkeypatch.setitem(
        registry._event_handlers,
        "test.record",
        EventHandler("test.record", frozenset({"test.*"}), run),
    )
    return calls


def test_each_event_becomes_one_job_per_matching_handler(sessions, system, seen, frozen_clock):
    ids = _append(sessions, system, "test.happened", 3)
    _append(sessions, system, "other.happened")

    report = run_until_idle(sessions)
    again = run_until_idle(sessions)

    assert sorted(seen) == sorted(ids)
    assert report.events_dispatched == 4
    assert again.events_dispatched == 0
    with sessions() as db:
        keys = set(db.scalars(select(Job.key).where(Job.kind == "event")))
    assert {f"event:test.record:{i}" for i in ids} <= keys


def test_events_appended_later_are_picked_up(sessions, system, seen, frozen_clock):
    first = _append(sessions, system, "test.a")
    run_until_idle(sessions)
    second = _append(sessions, system, "test.b", 2)
    run_until_idle(sessions)
    assert seen == first + second


def test_periodic_task_runs_once_per_period(sessions, monkeypatch, frozen_clock):
    periods = []
    task = PeriodicTask("test.hourly", timedelta(hours=1), lambda db, actor, at: periods.append(at))
    monkeypatch.setitem(registry._periodic_tasks, "test.hourly", task)

    run_until_idle(sessions)
    run_until_idle(sessions)  # a second worker in the same hour runs nothing
    frozen_clock.advance(timedelta(minutes=30))
    run_until_idle(sessions)
    frozen_clock.advance(timedelta(minutes=45))
    run_until_idle(sessions)

    assert [p.isoformat() for p in periods] == [
        "2026-03-01T12:00:00+00:00",
        "2026-03-01T13:00:00+00:00",
    ]


def test_failures_back_off_then_die_with_their_last_error(sessions, monkeypatch, frozen_clock):
    attempts = []

    def fail(context, ref):
        attempts.append(context.attempt)
        raise RuntimeError(f"boom {context.attempt}")

    policy = RetryPolicy(max_attempts=3, base=timedelta(minutes=1), cap=timedelta(minutes=10))
    monkeypatch.setitem(registry._tasks, "test.fail", Task("test.fail", fail, policy))
    with sessions() as db, db.begin():
        jobs.enqueue(db, "test.fail", "x")

    run_until_idle(sessions)
    assert attempts == [1]
    run_until_idle(sessions)  # not due yet: backoff
    assert attempts == [1]
    frozen_clock.advance(timedelta(minutes=1))
    run_until_idle(sessions)
    assert attempts == [1, 2]
    frozen_clock.advance(timedelta(minutes=2))
    run_until_idle(sessions)
    assert attempts == [1, 2, 3]
    frozen_clock.advance(timedelta(hours=1))
    run_until_idle(sessions)
    assert attempts == [1, 2, 3]

    with sessions() as db:
        job = db.scalar(select(Job).where(Job.name == "test.fail"))
        logged = db.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id)).all()
    assert job.status == JobStatus.DEAD
    assert job.last_error == "RuntimeError: boom 3"
    assert [(a.number, a.outcome) for a in logged] == [(1, "failed"), (2, "failed"), (3, "failed")]


def test_backoff_grows_exponentially_with_jitter():
    policy = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(minutes=5))
    draws = random.Random(20261207)  # seeded: the same draws on every run
    for attempt, full in [(1, 10), (2, 20), (3, 40), (6, 300), (20, 300)]:
        delays = [policy.delay(attempt, draws).total_seconds() for _ in range(100)]
        assert all(full / 2 <= delay <= full for delay in delays), (attempt, delays)
        # Jobs that failed together do not retry together: the same attempt waits a different
        # time on each draw, spread over the whole range rather than the exponential value.
        assert len(set(delays)) == len(delays), attempt
        assert min(delays) < full * 0.6, attempt
        assert max(delays) > full * 0.9, attempt


def test_a_handler_failure_rolls_back_its_writes(sessions, system, monkeypatch, frozen_clock):
    def half_done(db, actor, event):
        db.add(User(id="usr_X", email="x@example.com", display_name="x", role="admin"))
        db.flush()
        raise ValueError("nope")

    monkeypatch.setitem(
        registry._event_handlers,
        "test.half",
        EventHandler("test.half", frozenset({"test.half"}), half_done, retry=RetryPolicy(1)),
    )
    _append(sessions, system, "test.half")
    report = run_until_idle(sessions)
    assert report.jobs_failed == 1
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 0
        assert db.scalar(select(Job.status).where(Job.name == "test.half")) == JobStatus.DEAD


def test_event_jobs_run_together_keep_their_outcomes_apart(
    sessions, system, monkeypatch, frozen_clock
):
    def some_fail(db, actor, event):
        n = event.payload["n"]
        db.add(User(id=f"usr_{n}", email=f"u{n}@example.com", display_name="u", role="admin"))
        db.flush()
        if n % 3 == 1:
            raise ValueError("nope")

    monkeypatch.setitem(
        registry._event_handlers,
        "test.some",
        EventHandler("test.some", frozenset({"test.some"}), some_fail, retry=RetryPolicy(2)),
    )
    _append(sessions, system, "test.some", n=7)
    worker = Worker(sessions, batch_size=10)
    worker.dispatch()
    claimed = worker.claim()
    assert len(claimed) == 7
    assert worker.run_events(claimed) == [n % 3 != 1 for n in range(7)]
    worker.close()
    with sessions() as db:
        kept = set(db.scalars(select(User.id).where(User.id.like("usr\\_%", escape="\\"))))
        assert kept == {"usr_0", "usr_2", "usr_3", "usr_5", "usr_6"}
        rows = db.execute(
            select(Job.status, Job.last_error, JobAttempt.outcome)
            .join(JobAttempt, JobAttempt.job_id == Job.id)
            .where(Job.name == "test.some")
            .order_by(Job.position)
        ).all()
    assert [row.status for row in rows] == [
        JobStatus.PENDING if n % 3 == 1 else JobStatus.DONE for n in range(7)
    ]
    assert [row.outcome for row in rows] == ["failed" if n % 3 == 1 else "done" for n in range(7)]
    assert all(("nope" in (row.last_error or "")) == (n % 3 == 1) for n, row in enumerate(rows))


def test_a_group_whose_lease_was_taken_over_records_nothing_for_that_job(
    sessions, system, seen, frozen_clock
):
    _append(sessions, system, "test.thing", n=3)
    slow = Worker(sessions, name="slow", lease=timedelta(minutes=1))
    slow.dispatch()
    claimed = slow.claim()
    frozen_clock.advance(timedelta(minutes=2))
    other = Worker(sessions, name="other", batch_size=1)
    [taken] = other.claim()  # the first job's lease ran out: another worker took it over
    assert slow.run_events(claimed) == [False, True, True]
    assert other.run_events([taken]) == [True]
    slow.close()
    other.close()
    with sessions() as db:
        statuses = db.scalars(select(Job.status).where(Job.name == "test.record")).all()
        attempts = db.scalars(
            select(JobAttempt.outcome).join(Job, Job.id == JobAttempt.job_id)
            .where(Job.name == "test.record").order_by(Job.position, JobAttempt.number)
        ).all()  # fmt: skip
    assert statuses == [JobStatus.DONE] * 3
    assert attempts == ["lost", "done", "done", "done"]


def test_a_job_whose_worker_died_is_taken_over_after_the_lease(sessions, monkeypatch, frozen_clock):
    ran = []
    monkeypatch.setitem(
        registry._tasks,
        "test.once",
        Task("test.once", lambda context, ref: ran.append(context.worker)),
    )
    with sessions() as db, db.begin():
        jobs.enqueue(db, "test.once", "x")
    dead = Worker(sessions, name="dead", lease=timedelta(minutes=1))
    assert len(dead.claim()) == 1  # ... and the process dies here

    run_until_idle(sessions, name="alive")
    assert ran == []  # still leased to the dead worker
    frozen_clock.advance(timedelta(minutes=2))
    run_until_idle(sessions, name="alive")

    assert ran == ["alive"]
    with sessions() as db:
        logged = db.scalars(
            select(JobAttempt)
            .join(Job, Job.id == JobAttempt.job_id)
            .where(Job.name == "test.once")
            .order_by(JobAttempt.number)
        ).all()
    assert [(a.worker, a.outcome) for a in logged] == [("dead", "lost"), ("alive", "done")]


def test_a_long_job_keeps_its_lease_while_it_runs(sessions, monkeypatch):
    import threading
    import time

    started = threading.Event()

    def slow(context, ref):
        started.set()
        time.sleep(1.2)

    monkeypatch.setitem(registry._tasks, "test.slow", Task("test.slow", slow))
    with sessions() as db, db.begin():
        jobs.enqueue(db, "test.slow", "x")
    lease = timedelta(seconds=0.3)
    busy = Worker(sessions, name="busy", lease=lease)
    [job] = busy.claim()
    running = threading.Thread(target=busy.run_job, args=(job,))
    running.start()
    assert started.wait(10)
    time.sleep(0.8)  # well past the first lease

    assert Worker(sessions, name="other", lease=lease).claim() == []
    running.join()
    busy.close()
    with sessions() as db:
        done = db.scalar(select(Job).where(Job.name == "test.slow"))
        logged = db.scalars(select(JobAttempt).where(JobAttempt.job_id == done.id)).all()
    assert done.status == JobStatus.DONE
    assert [(a.worker, a.outcome) for a in logged] == [("busy", "done")]
