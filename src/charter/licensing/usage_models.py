"""Usage tables: each reported record once, monthly rollups, and the caps passed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base


class UsageRecord(Base):
    """One record of metered use, as its reporter sent it; ``record_id`` is the reporter's own
    id, unique per license, so a record sent again is not counted again."""

    __tablename__ = "usage_records"
    __table_args__ = (
        UniqueConstraint("license_id", "record_id", name="uq_usage_records_license_record"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    license_id: Mapped[str] = mapped_column(ForeignKey("licenses.id", ondelete="RESTRICT"))
    metric: Mapped[str] = mapped_column(String(64))
    # Whole units: a fraction of a unit is reported in a smaller unit.
    quantity: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime]
    record_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime]


class UsageRollup(Base):
    """A license's total of one metric in one calendar month (``period``: its start, UTC).

    Kept in the transaction that stores the records, adding only the records new to it.
    """

    __tablename__ = "usage_rollups"

    license_id: Mapped[str] = mapped_column(
        ForeignKey("licenses.id", ondelete="RESTRICT"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[datetime] = mapped_column(primary_key=True)
    total: Mapped[int] = mapped_column(BigInteger)


class UsageCapPassed(Base):
    """That a license's use of a metric passed its cap in a cap period (``period``: the
    period's start); its row makes the ``license.usage_over_cap`` event happen once."""

    __tablename__ = "usage_caps_passed"

    license_id: Mapped[str] = mapped_column(
        ForeignKey("licenses.id", ondelete="RESTRICT"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[datetime] = mapped_column(primary_key=True)
    cap_limit: Mapped[int] = mapped_column(BigInteger)
    overage: Mapped[str] = mapped_column(String(16))
    passed_at: Mapped[datetime]
