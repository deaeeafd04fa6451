"""Report tables: certified headcounts as counted at each month's end, kept by the worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base


class HeadcountMonth(Base):
    """People holding a live award at one instant of a month: its end, once the month has
    closed; for the month under way, the last hourly count.

    Counting every award for every month on each view takes seconds with a million awards; a
    closed month is counted once, at its last instant, and is history from then on (a later
    renewal or reinstatement does not rewrite it).
    """

    __tablename__ = "headcount_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    """``YYYY-MM``."""
    at: Mapped[datetime]
    """The instant counted: the month's end, or the time of the count for the month under way."""
    people: Mapped[int]


class HeadcountBreakdown(Base):
    """A month's certified people at firms, by the firm's tier then, region and track."""

    __tablename__ = "headcount_breakdowns"

    month: Mapped[str] = mapped_column(
        ForeignKey("headcount_months.month", ondelete="CASCADE"), primary_key=True
    )
    tier: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(64), primary_key=True)
    track: Mapped[str] = mapped_column(String(64), primary_key=True)
    people: Mapped[int]
