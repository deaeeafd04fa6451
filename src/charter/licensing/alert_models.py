"""Anomaly alert tables: what license validations observed, and the alerts the rules opened
(:mod:`charter.licensing.alerts`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base, Timestamped

# An integer key that autoincrements on both databases (SQLite only for INTEGER).
CheckKey = BigInteger().with_variant(Integer(), "sqlite")


class LicenseCheck(Base):
    """One validation of a found license, as licensed software asked it.

    Written in batches from the validation route's buffer (:mod:`charter.licensing.checks`),
    read by the anomaly rules, and pruned after ``license_check_retention_days``. No foreign
    key: the rows are observations, written in bulk off the request path.
    """

    __tablename__ = "license_checks"
    __table_args__ = (
        Index("ix_license_checks_license_checked", "license_id", "checked_at"),
        Index("ix_license_checks_checked", "checked_at"),
    )

    id: Mapped[int] = mapped_column(CheckKey, primary_key=True, autoincrement=True)
    license_id: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str | None] = mapped_column(String(256))
    region: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(6))
    code: Mapped[str] = mapped_column(String(32))
    checked_at: Mapped[datetime]


class LicenseAlert(Timestamped, Base):
    """An anomaly on a license found by a rule: its severity, evidence and state.

    At most one alert per license and rule is open or acknowledged at a time (a partial
    unique index): new evidence updates it.
    """

    __tablename__ = "license_alerts"
    __table_args__ = (
        Index(
            "uq_license_alerts_live",
            "license_id",
            "rule",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
        Index("ix_license_alerts_partner_state", "partner_id", "state"),
    )
    __event_subject__ = "license_alert"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    license_id: Mapped[str] = mapped_column(
        ForeignKey("licenses.id", ondelete="RESTRICT"), index=True
    )
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"))
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    evidence: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    # When the rule last found evidence (the evidence is the latest).
    seen_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    acknowledged_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(40))
    resolved_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
