"""SQL expressions that SQLite and PostgreSQL spell differently, and a series of instants.

Every report counts in the database; these helpers keep its queries one text for both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    SQLColumnExpression,
    Subquery,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from charter.db.base import UTCDateTime


def dialect(db: Session) -> str:
    """``sqlite`` or ``postgresql``: the backend ``db`` talks to."""
    return db.get_bind().dialect.name


def instant(value: datetime) -> ColumnElement[datetime]:
    """``value`` as a bound UTC timestamp, compared as the stored columns are."""
    return literal(value, UTCDateTime())


def month_of(db: Session, column: SQLColumnExpression[Any]) -> ColumnElement[str]:
    """``YYYY-MM`` of a stored UTC time."""
    if dialect(db) == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM")


def days_between(
    db: Session, later: SQLColumnExpression[Any], earlier: SQLColumnExpression[Any]
) -> ColumnElement[Any]:
    """The days (with fractions) from ``earlier`` to ``later``."""
    if dialect(db) == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return func.extract("epoch", later - earlier) / 86400.0


def hours_between(
    db: Session, later: SQLColumnExpression[Any], earlier: SQLColumnExpression[Any]
) -> ColumnElement[Any]:
    """The hours (with fractions) from ``earlier`` to ``later``."""
    return days_between(db, later, earlier) * 24.0


def whole(db: Session, value: SQLColumnExpression[Any]) -> ColumnElement[int]:
    """``value`` rounded down to an integer (``value`` is never negative where it is used)."""
    if dialect(db) == "sqlite":
        return cast(value, Integer)  # SQLite's CAST truncates
    return cast(func.floor(value), Integer)


def series(points: Sequence[tuple[str, datetime]], name: str = "points") -> Subquery:
    """A one-off table of ``(label, at)`` rows, for joining counts at each instant."""
    selects = [
        select(literal(label).label("label"), instant(at).label("at")) for label, at in points
    ]
    return union_all(*selects).subquery(name)


def spans(rows: Sequence[tuple[int, datetime, datetime]], name: str = "spans") -> Subquery:
    """A one-off table of ``(n, after, until)`` rows: numbered spans of time, for joining
    counts of what falls in each (``after < t <= until``) by index range rather than by
    computing each row's span."""
    selects = [
        select(literal(n).label("n"), instant(after).label("after"), instant(until).label("until"))
        for n, after, until in rows
    ]
    return union_all(*selects).subquery(name)


def month_starts(now: datetime, months: int) -> list[datetime]:
    """The first instants of the last ``months`` calendar months up to ``now``'s, oldest first."""
    year, month = now.year, now.month
    starts = []
    for _ in range(months):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def next_month(start: datetime) -> datetime:
    """The first instant of the month after ``start``'s."""
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)
