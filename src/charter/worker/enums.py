"""The worker's named values: where a job stands.

Apart from the tables so that code that only reads a status needs no ORM.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job stands."""

    PENDING = "pending"  # waiting for ``run_after``
    RUNNING = "running"  # claimed by a worker until ``locked_until``
    DONE = "done"
    DEAD = "dead"  # gave up: out of attempts or time; ``last_error`` says why
