"""Running a form's service call so that a refusal the user can fix leaves nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from charter.core.errors import CharterError, Conflict, Invalid

T = TypeVar("T")

FIXABLE = (Invalid, Conflict)
"""Errors a form shows next to itself; others (not allowed, not found) get their error page."""


def attempt(db: Session, action: Callable[[], T]) -> T | CharterError:
    """``action()`` in a savepoint: its result, or the fixable error it raised (rolled back)."""
    try:
        with db.begin_nested():
            return action()
    except FIXABLE as error:
        return error
