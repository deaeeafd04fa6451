"""Scheduling: each periodic task's job, created once per period across all workers.

The job of the current period is keyed ``periodic:<task>:<period start>``; whoever inserts it
first wins, the others insert nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from charter.core import clock
from charter.worker import jobs
from charter.worker.context import WorkerContext
from charter.worker.registry import PeriodicTask


class Scheduler:
    """Creates the periodic tasks' jobs, remembering the periods it has done (a pass later in
    the same period then costs no transaction)."""

    def __init__(self, tasks: Sequence[PeriodicTask]) -> None:
        self.tasks = list(tasks)
        self._scheduled: dict[str, datetime] = {}

    def schedule(self, context: WorkerContext) -> int:
        """Create the current period's job of every periodic task not yet scheduled by us."""
        now = clock.now()
        due = []
        for task in self.tasks:
            start = task.period_start(now)
            if self._scheduled.get(task.name) == start:
                continue
            due.append((task, start))
        if not due:
            return 0
        with context.transaction() as db:
            jobs.insert_ignoring_duplicates(
                db,
                [
                    jobs.job_row(
                        kind="periodic",
                        name=task.name,
                        ref=start.isoformat(),
                        key=f"periodic:{task.name}:{start.isoformat()}",
                    )
                    for task, start in due
                ],
            )
        for task, start in due:
            self._scheduled[task.name] = start
        return len(due)
