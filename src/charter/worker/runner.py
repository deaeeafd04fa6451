"""The worker loop: dispatch new events into jobs, schedule periodic tasks, claim and run jobs.

One pass of a :class:`~charter.worker.worker.Worker` does, each step in its own short
transaction: dispatch (:mod:`charter.worker.dispatch`), schedule
(:mod:`charter.worker.scheduling`), claim a batch (:mod:`charter.worker.leases`) and run it
(:mod:`charter.worker.execution`).

Entry points: :func:`run_until_idle` (tests, cron, CI) and :func:`run_forever`
(``charter worker``), which stops after the current job on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from charter.config import Settings
from charter.worker.models import Job
from charter.worker.worker import Worker

log = logging.getLogger("charter.worker")


@dataclass
class WorkerReport:
    """What a run did."""

    events_dispatched: int = 0
    jobs_done: int = 0
    jobs_failed: int = 0
    passes: int = 0
    stopped_by: str = "idle"


def run_pass(worker: Worker, report: WorkerReport, stop: threading.Event | None = None) -> bool:
    """One pass: schedule, dispatch, claim and run a batch; whether anything happened."""
    report.passes += 1
    busy = False
    worker.schedule()
    dispatched = worker.dispatch()
    if dispatched is None or dispatched:
        busy = True
        report.events_dispatched += dispatched or 0
    claimed = worker.claim()
    index = 0
    while index < len(claimed):
        if stop is not None and stop.is_set():
            worker.release(claimed[index:])
            break
        group = _next_group(claimed, index)
        for succeeded in worker.run_events(group) if len(group) > 1 else [worker.run_job(group[0])]:
            if succeeded:
                report.jobs_done += 1
            else:
                report.jobs_failed += 1
        index += len(group)
    return busy or bool(claimed)


def _next_group(claimed: list[Job], index: int) -> list[Job]:
    """The jobs to run next: consecutive event jobs share one transaction, others run alone."""
    group = [claimed[index]]
    if group[0].kind == "event":
        while index + len(group) < len(claimed):
            following = claimed[index + len(group)]
            if following.kind != "event":
                break
            group.append(following)
    return group


def run_until_idle(
    sessions: sessionmaker[Session] | Engine,
    settings: Settings | None = None,
    *,
    max_seconds: float | None = None,
    max_passes: int = 10_000,
    name: str | None = None,
    stop: threading.Event | None = None,
) -> WorkerReport:
    """Run passes until one finds nothing to do (no new event, no due job), then return.

    Jobs waiting for a later retry do not count as work: move the clock on and call again.
    """
    worker = Worker(sessions, settings, name=name)
    report = WorkerReport()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        for _ in range(max_passes):
            if stop is not None and stop.is_set():
                report.stopped_by = "signal"
                return report
            if deadline is not None and time.monotonic() >= deadline:
                report.stopped_by = "time"
                return report
            if not run_pass(worker, report, stop):
                return report
        report.stopped_by = "passes"
        return report
    finally:
        worker.close()


def run_forever(
    sessions: sessionmaker[Session] | Engine,
    settings: Settings | None = None,
    *,
    poll_seconds: float | None = None,
    max_seconds: float | None = None,
    until_idle: bool = False,
    name: str | None = None,
    stop: threading.Event | None = None,
) -> WorkerReport:
    """Run until stopped (``stop`` set, SIGTERM/SIGINT via :func:`stop_on_signals`), idle
    (``until_idle``) or out of time (``max_seconds``); waits ``poll_seconds`` when idle."""
    worker = Worker(sessions, settings, name=name)
    stop = stop or threading.Event()
    poll = poll_seconds if poll_seconds is not None else worker.context.settings.worker_poll_seconds
    report = WorkerReport()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    log.info("worker %s started", worker.context.name)
    try:
        _loop(worker, report, stop, poll=poll, deadline=deadline, until_idle=until_idle)
    finally:
        worker.close()
    log.info(
        "worker %s stopped (%s): %d jobs done, %d failed",
        worker.context.name,
        report.stopped_by,
        report.jobs_done,
        report.jobs_failed,
    )
    return report


def _loop(
    worker: Worker,
    report: WorkerReport,
    stop: threading.Event,
    *,
    poll: float,
    deadline: float | None,
    until_idle: bool,
) -> None:
    while True:
        if stop.is_set():
            report.stopped_by = "signal"
            return
        if deadline is not None and time.monotonic() >= deadline:
            report.stopped_by = "time"
            return
        try:
            busy = run_pass(worker, report, stop)
        except OperationalError as error:
            # The database went away or is busy: the jobs are safe in it; try again later.
            log.error("worker %s: database error, retrying: %s", worker.context.name, error.orig)
            stop.wait(max(poll, 1.0))
            continue
        if not busy:
            if until_idle:
                report.stopped_by = "idle"
                return
            wait = poll if deadline is None else min(poll, max(deadline - time.monotonic(), 0))
            stop.wait(wait)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Within the block, SIGTERM or SIGINT set ``stop``: the current job finishes, then the
    worker exits. The previous handlers come back afterwards."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the current job", signal.Signals(signum).name)
        stop.set()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
