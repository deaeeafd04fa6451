"""Worker tables: the dispatcher's cursor over the events log, jobs, and every attempt at one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charter.core.models import SeqType
from charter.db.base import Base


class WorkerCursor(Base):
    """How far the dispatcher has turned the events log into jobs (the last ``seq`` done)."""

    __tablename__ = "worker_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(SeqType)
    updated_at: Mapped[datetime]


class Job(Base):
    """One unit of work: a handler for one event, a periodic task for one period, or a task.

    ``key`` is unique, which is what makes creating a job idempotent: the dispatcher, two
    workers scheduling the same period, or a handler run twice all end up with one row.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claimable", "status", "run_after"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # event, periodic or task
    name: Mapped[str] = mapped_column(String(100))  # the handler or task
    ref: Mapped[str | None] = mapped_column(String(64))  # event id, period start or task input
    # The event's seq for event jobs (0 otherwise): due jobs run in the order of the log.
    position: Mapped[int] = mapped_column(SeqType, default=0)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class JobAttempt(Base):
    """One attempt at a job: who ran it, when, and how it ended (``None`` while running or lost)."""

    __tablename__ = "job_attempts"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))  # done, failed
    error: Mapped[str | None] = mapped_column(Text)
