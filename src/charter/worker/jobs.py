"""The jobs table as a queue: idempotent creation, claiming with a lease, and outcomes.

Every write here is conditional on what the caller believes the row to be (its status, or the
worker and attempt holding its lease), so two workers can never both record an outcome for
one attempt, and a worker whose lease ran out cannot overwrite the work of the one that took
the job over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Integer, Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.ids import new_id
from charter.worker.enums import JobStatus
from charter.worker.models import Job, JobAttempt

MAX_ERROR_LENGTH = 2000


_INSERT_NEW = {
    "postgresql": postgresql.insert(cast(Table, Job.__table__)).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(cast(Table, Job.__table__)).on_conflict_do_nothing(),
}


def insert_ignoring_duplicates(db: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert job rows; a row whose ``key`` exists already is left alone (no error)."""
    if not rows:
        return
    statement = _INSERT_NEW.get(db.get_bind().dialect.name)
    if statement is not None:
        db.connection().execute(statement, list(rows) if len(rows) > 1 else rows[0])
    else:  # pragma: no cover - Charter runs on SQLite and PostgreSQL
        for row in rows:
            if db.scalar(select(Job.id).where(Job.key == row["key"])) is None:
                db.add(Job(**row))
        db.flush()


def job_row(
    *,
    kind: str,
    name: str,
    ref: str | None,
    key: str,
    run_after: datetime | None = None,
    position: int = 0,
) -> dict[str, Any]:
    """The column values of a new pending job."""
    now = clock.now()
    return {
        "id": new_id("job"),
        "key": key,
        "kind": kind,
        "name": name,
        "ref": ref,
        "position": position,
        "status": JobStatus.PENDING.value,
        "attempts": 0,
        "run_after": run_after or now,
        "locked_until": None,
        "locked_by": None,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
        "finished_at": None,
    }


def enqueue(
    db: Session,
    task: str,
    ref: str,
    *,
    key: str | None = None,
    run_after: datetime | None = None,
    position: int = 0,
) -> str:
    """Queue the task ``task`` for ``ref`` in the caller's transaction; returns the job's key.

    Tasks due at the same time run in ``position`` order (a task for an event: the event's
    place in the log, so deliveries leave in the order things happened), then by id.

    The job exists only if the caller's transaction commits, so a handler that records an
    email and queues its sending does both or neither. A second call with the same key is a
    no-op.
    """
    key = key or f"task:{task}:{ref}"
    insert_ignoring_duplicates(
        db,
        [job_row(kind="task", name=task, ref=ref, key=key, run_after=run_after, position=position)],
    )
    return key


# The hot statements are built once, on the tables (no ORM unit of work), with bound
# parameters, so running one costs a compiled-cache lookup and the round trip.
_jobs = cast(Table, Job.__table__)
_attempts = cast(Table, JobAttempt.__table__)
# Claimable: pending jobs that are due, and running jobs whose lease has run out.
_CLAIM = (
    select(_jobs)
    .where(
        or_(
            and_(_jobs.c.status == JobStatus.PENDING.value, _jobs.c.run_after <= bindparam("now")),
            and_(
                _jobs.c.status == JobStatus.RUNNING.value, _jobs.c.locked_until < bindparam("now")
            ),
        )
    )
    .order_by(_jobs.c.run_after, _jobs.c.position, _jobs.c.id)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update(skip_locked=True)
)
_TAKE = (
    update(_jobs)
    .where(_jobs.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=JobStatus.RUNNING.value,
        attempts=_jobs.c.attempts + 1,
        locked_by=bindparam("holder"),
        locked_until=bindparam("until"),
        updated_at=bindparam("now"),
    )
)
_BURY = (
    update(_jobs)
    .where(_jobs.c.id == bindparam("jid"))
    .values(
        status=JobStatus.DEAD.value,
        last_error=bindparam("message"),
        locked_until=None,
        finished_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
)
_START = insert(_attempts)
_OWNED = and_(
    _jobs.c.id == bindparam("jid"),
    _jobs.c.status == JobStatus.RUNNING.value,
    _jobs.c.locked_by == bindparam("holder"),
    _jobs.c.attempts == bindparam("attempt"),
)
_EXTEND = update(_jobs).where(_OWNED).values(locked_until=bindparam("until"))
_DONE = (
    update(_jobs)
    .where(_OWNED)
    .values(
        status=JobStatus.DONE.value,
        locked_until=None,
        last_error=None,
        finished_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
)
_RETRY = (
    update(_jobs)
    .where(_OWNED)
    .values(
        status=JobStatus.PENDING.value,
        run_after=bindparam("retry_at"),
        locked_until=None,
        last_error=bindparam("message"),
        updated_at=bindparam("now"),
    )
)
_DEAD = (
    update(_jobs)
    .where(_OWNED)
    .values(
        status=JobStatus.DEAD.value,
        locked_until=None,
        last_error=bindparam("message"),
        finished_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
)
_FINISH = (
    update(_attempts)
    .where(
        _attempts.c.job_id == bindparam("jid"),
        _attempts.c.number == bindparam("attempt"),
        _attempts.c.finished_at.is_(None),
    )
    .values(finished_at=bindparam("now"), outcome=bindparam("result"), error=bindparam("message"))
)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def claim(
    db: Session, *, worker: str, limit: int, lease: timedelta, max_attempts: dict[str, int | None]
) -> list[Job]:
    """Claim up to ``limit`` due jobs for ``worker`` in the caller's transaction.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``, so concurrent workers
    each get different jobs without waiting for one another; SQLite has one writer at a time
    and needs no row locks. A job whose lease ran out is taken over: its unfinished attempt is
    recorded as lost, and it is given up if that was its last attempt.
    ``max_attempts`` maps ``kind:name`` to the job's attempt limit.

    The whole batch is taken with one update and its attempts logged with one insert; the
    jobs returned are detached copies of the rows as they now are.
    """
    now = clock.now()
    until = now + lease
    connection = db.connection()
    rows = connection.execute(_CLAIM, {"now": now, "limit": limit}).mappings().all()
    claimed: list[Job] = []
    for row in rows:
        values = dict(row)
        if values["status"] == JobStatus.RUNNING.value:
            lost = f"worker {values['locked_by']} lost its lease (stopped or killed mid-job)"
            connection.execute(
                _FINISH,
                {
                    "jid": values["id"],
                    "attempt": values["attempts"],
                    "now": now,
                    "result": "lost",
                    "message": lost,
                },
            )
            limit_for = max_attempts.get(f"{values['kind']}:{values['name']}")
            if limit_for is not None and values["attempts"] >= limit_for:
                connection.execute(_BURY, {"jid": values["id"], "message": lost, "now": now})
                continue
        values.update(
            status=JobStatus.RUNNING.value,
            attempts=values["attempts"] + 1,
            locked_by=worker,
            locked_until=until,
            updated_at=now,
        )
        claimed.append(Job(**values))
    if claimed:
        connection.execute(
            _TAKE,
            {"ids": [job.id for job in claimed], "holder": worker, "until": until, "now": now},
        )
        connection.execute(
            _START,
            [
                {"job_id": job.id, "number": job.attempts, "worker": worker, "started_at": now}
                for job in claimed
            ],
        )
    return claimed


def extend_lease(db: Session, *, job_id: str, worker: str, attempt: int, until: datetime) -> bool:
    """Keep holding a running job until ``until``; False if it is no longer ours."""
    result = db.connection().execute(
        _EXTEND, {"jid": job_id, "holder": worker, "attempt": attempt, "until": until}
    )
    return bool(_rowcount(result))


def mark_done(db: Session, *, job_id: str, worker: str, attempt: int) -> bool:
    """Record success, if ``worker`` still holds attempt ``attempt``; whether it did."""
    now = clock.now()
    connection = db.connection()
    owned = {"jid": job_id, "holder": worker, "attempt": attempt, "now": now}
    if not _rowcount(connection.execute(_DONE, owned)):
        return False
    connection.execute(_FINISH, {**owned, "result": "done", "message": None})
    return True


def mark_failed(
    db: Session,
    *,
    job_id: str,
    worker: str,
    attempt: int,
    error: str,
    retry_at: datetime | None,
) -> bool:
    """Record a failure: pending again until ``retry_at``, or dead when that is ``None``."""
    now = clock.now()
    error = error[:MAX_ERROR_LENGTH]
    connection = db.connection()
    owned = {"jid": job_id, "holder": worker, "attempt": attempt, "now": now, "message": error}
    if retry_at is None:
        result = connection.execute(_DEAD, owned)
    else:
        result = connection.execute(_RETRY, {**owned, "retry_at": retry_at})
    if not _rowcount(result):
        return False
    connection.execute(_FINISH, {**owned, "result": "failed"})
    return True


def counts(db: Session) -> dict[str, int]:
    """How many jobs are in each status."""
    rows = db.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    return {str(status): int(count) for status, count in rows}
