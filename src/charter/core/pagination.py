"""Keyset (cursor) pagination over id-ordered queries."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from charter.core.errors import Invalid

T = TypeVar("T")

# Cursors carry an id; anything else (control characters, NULs) never reaches the database.
_CURSOR_ID = re.compile(r"[a-z]{3}_[0-9A-Z]{1,40}")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the cursor to the next, if any."""

    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(last_id: str) -> str:
    """An opaque cursor pointing after ``last_id``."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor points after; :class:`Invalid` naming ``cursor`` if it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise Invalid.field("cursor", "not a cursor returned by this API") from None
    if not _CURSOR_ID.fullmatch(value):
        raise Invalid.field("cursor", "not a cursor returned by this API")
    return value


def paginate(
    db: Session,
    query: Select[Any],
    id_column: InstrumentedAttribute[str],
    *,
    cursor: str | None,
    limit: int,
) -> Page[Any]:
    """Run ``query`` ordered by ``id_column`` from ``cursor``, ``limit`` rows at most."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid.field("limit", f"must be between 1 and {MAX_LIMIT}")
    if cursor:
        query = query.where(id_column > decode_cursor(cursor))
    rows = list(db.scalars(query.order_by(id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more and rows else None)


def paginate_rows(
    db: Session,
    query: Select[Any],
    id_column: InstrumentedAttribute[str],
    *,
    cursor: str | None,
    limit: int,
) -> Page[dict[str, Any]]:
    """As :func:`paginate`, for a query of columns: each item a dict of its row's values.

    For lists that go straight out as JSON: no ORM object is built (identity map, change
    tracking, attribute instrumentation), which for a page of fifty rows costs more than
    reading them.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid.field("limit", f"must be between 1 and {MAX_LIMIT}")
    if cursor:
        query = query.where(id_column > decode_cursor(cursor))
    result = db.connection().execute(query.order_by(id_column).limit(limit + 1))
    keys = tuple(result.keys())
    rows = [dict(zip(keys, row, strict=True)) for row in result.fetchmany(limit + 1)]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]["id"]) if more and rows else None)


def check_cursor(cursor: str | None) -> None:
    """Refuse a cursor this API did not make, before a list that may end early reads anything.

    :func:`decode_cursor` accepts only an id's characters, so what it returns is always text
    the database can compare.
    """
    if cursor:
        decode_cursor(cursor)
