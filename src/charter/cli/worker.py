"""``charter worker``: processes the events log (emails, webhooks, expiry, tiers, reminders)."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import typer

from charter.config import get_settings


def worker(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit once there is nothing left to do.")
    ] = False,
    poll: Annotated[
        float | None,
        typer.Option(min=0.01, help="Seconds to wait between polls when idle."),
    ] = None,
    max_seconds: Annotated[
        float | None, typer.Option(min=0, help="Exit after this many seconds.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name in logs (default: host:pid).")] = None,
    status: Annotated[
        bool, typer.Option("--status", help="Show the jobs by status and the dead ones; exit.")
    ] = False,
) -> None:
    """Run the background worker; several may run at once on PostgreSQL. SIGTERM stops it
    after the current job."""
    from sqlalchemy.pool import QueuePool

    from charter.db.engine import make_engine
    from charter.worker import runner

    settings = get_settings()
    if status:
        show_status()
        return
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()
    # The worker keeps its connections (SQLite too): it opens several transactions per job.
    engine = make_engine(settings.database_url, poolclass=QueuePool)
    try:
        with runner.stop_on_signals(stop):
            report = runner.run_forever(
                engine,
                settings,
                poll_seconds=poll,
                max_seconds=max_seconds,
                until_idle=until_idle,
                name=name,
                stop=stop,
            )
    finally:
        engine.dispose()
    typer.echo(
        f"worker stopped ({report.stopped_by}): {report.events_dispatched} events dispatched, "
        f"{report.jobs_done} jobs done, {report.jobs_failed} failed"
    )


def show_status() -> None:
    """Jobs by status, and the most recent dead jobs with their last error."""
    from rich.table import Table
    from sqlalchemy import select

    from charter.cli.common import console, transaction
    from charter.worker import jobs
    from charter.worker.enums import JobStatus
    from charter.worker.models import Job

    with transaction() as db:
        counts = jobs.counts(db)
        dead = db.scalars(
            select(Job)
            .where(Job.status == JobStatus.DEAD.value)
            .order_by(Job.updated_at.desc())
            .limit(20)
        ).all()
    out = console()
    out.print(
        ", ".join(f"{state}: {counts.get(state.value, 0)}" for state in JobStatus), markup=False
    )
    if dead:
        table = Table("job", "what", "attempts", "last error")
        for job in dead:
            table.add_row(job.id, job.key, str(job.attempts), job.last_error or "")
        out.print(table)
