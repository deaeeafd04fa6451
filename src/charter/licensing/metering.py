"""Usage metering as values: the caps an agreement sets, the periods usage is rolled up in, and
what a batch of usage records may say.

Pure: nothing here reads the database or the clock. Usage is counted in whole units (a
fraction of a unit is reported in a smaller unit: seconds, megabytes), rolled up per calendar
month in UTC; a cap covers a month or a calendar year of those rollups.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from charter.tiers.rules import Key

MAX_BATCH = 1000
"""The most records one batch may carry."""
MAX_QUANTITY = 10**12
"""The most units one record may report (totals stay far inside a 64-bit integer)."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a record's time may be: the reporting machine's clock may run ahead."""

RecordId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/@+=-]+$"
    ),
]
"""The reporter's own id of a record: the same id for the same license is counted once."""

Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY, strict=True)]


class Overage(StrEnum):
    """What passing a cap does: the use goes on and is flagged, or validation refuses it."""

    ALLOW_AND_FLAG = "allow_and_flag"
    DENY = "deny"


class UsageCap(BaseModel):
    """At most ``limit`` units of a metric per month or calendar year (UTC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(ge=1, le=10**15)
    period: Literal["month", "year"] = "month"
    overage: Overage = Overage.ALLOW_AND_FLAG


UsageCaps = Annotated[dict[Key, UsageCap], Field(max_length=50)]
"""An agreement's caps by metric (terms without any keep an empty mapping)."""


def month_start(at: datetime) -> datetime:
    """The start (UTC) of the calendar month ``at`` falls in: the period usage is rolled up by."""
    utc = at.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def cap_window(period: str, at: datetime) -> tuple[datetime, datetime]:
    """The first month and the month after the last of the cap period ``at`` falls in."""
    start = month_start(at)
    if period == "year":
        start = start.replace(month=1)
        return start, start.replace(year=start.year + 1)
    if start.month == 12:
        return start, start.replace(year=start.year + 1, month=1)
    return start, start.replace(month=start.month + 1)


def metrics_named(fee_unit: str | None, caps: Iterable[str]) -> frozenset[str] | None:
    """The metrics an agreement names (its usage fee's unit and its capped metrics); ``None``
    when it names none, and any metric may be reported."""
    named = set(caps)
    if fee_unit is not None:
        named.add(fee_unit)
    return frozenset(named) if named else None


def record_problem(
    *,
    metric: str,
    occurred_at: datetime,
    allowed: frozenset[str] | None,
    license_start: datetime,
    now: datetime,
) -> tuple[str, str] | None:
    """What is wrong with one record as ``(field, detail)``, or ``None``."""
    if allowed is not None and metric not in allowed:
        return "metric", f"the license's agreement meters {', '.join(sorted(allowed))}"
    if occurred_at > now + CLOCK_SKEW:
        return "occurred_at", "is in the future"
    if occurred_at < license_start:
        return "occurred_at", "is before the license started"
    return None


def is_over(total: int, cap: UsageCap) -> bool:
    """Whether a period's total has passed its cap (reaching it exactly is still within)."""
    return total > cap.limit
