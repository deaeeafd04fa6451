"""The worker's own periodic tasks: pruning its finished jobs and expired idempotency records."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from charter.core import clock, idempotency
from charter.core.auth import Principal
from charter.db.engine import settings_of
from charter.worker.enums import JobStatus
from charter.worker.models import Job
from charter.worker.registry import periodic

PRUNE_AFTER = timedelta(days=30)


@periodic("worker.prune_jobs", timedelta(days=1))
def prune_jobs(db: Session, actor: Principal, period_start: datetime) -> None:
    """Delete jobs done more than 30 days ago (dead jobs stay until someone looks at them).

    Their work is recorded where it matters (email messages, webhook deliveries, events);
    an event job is never created again once the dispatcher's cursor has passed its event.
    """
    cutoff = clock.now() - PRUNE_AFTER
    db.execute(delete(Job).where(Job.status == JobStatus.DONE.value, Job.finished_at < cutoff))


@periodic("worker.prune_idempotency_records", timedelta(hours=1))
def prune_idempotency_records(db: Session, actor: Principal, period_start: datetime) -> None:
    """Delete idempotency records past their lifetime (``CHARTER_IDEMPOTENCY_LIFETIME_HOURS``).

    The server no longer replays them; without pruning, every creating call sent with a key
    would stay in the table for good.
    """
    lifetime = timedelta(hours=settings_of(db).idempotency_lifetime_hours)
    idempotency.prune(db, lifetime=lifetime)
