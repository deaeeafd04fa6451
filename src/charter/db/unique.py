"""Inserts that turn a unique-constraint violation into a :class:`Conflict` users can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.core.errors import Conflict


@contextmanager
def guard_unique(message: str) -> Iterator[None]:
    """Turn a unique-constraint violation inside the block into :class:`Conflict`.

    The block runs in a savepoint so that the caller's transaction survives the failure.
    """
    try:
        yield
    except IntegrityError:
        raise Conflict(message) from None


def insert_unique(db: Session, row: Any, conflict: str) -> None:
    """Add and flush ``row``; a unique-constraint violation becomes :class:`Conflict`."""
    # Services check for duplicates first; the constraint still decides races between requests.
    with guard_unique(conflict), db.begin_nested():
        db.add(row)
        db.flush()
