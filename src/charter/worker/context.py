"""Who a worker is, and how each step of its pass reaches the database."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from charter.config import Settings
from charter.core.auth import Principal


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """What every step of a pass shares: the worker's name and principal, its sessions and
    settings, and how long a job it claims stays its own without a renewal."""

    name: str
    sessions: sessionmaker[Session]
    settings: Settings
    principal: Principal
    lease: timedelta

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a short transaction of its own, committed when the block succeeds."""
        with self.sessions() as db, db.begin():
            yield db


def worker_name() -> str:
    """A name that tells a log reader which host and process ran a job."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
