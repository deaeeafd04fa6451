"""Tiers tables: tier schemes, firms' standing, track records, firm badges, terminations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base

DEFAULT_PROGRAM = "default"


class TierScheme(Base):
    """One published version of a program's tiers, in force from ``effective_from``."""

    __tablename__ = "tier_schemes"
    __table_args__ = (UniqueConstraint("program", "version", name="uq_tier_schemes_version"),)
    __event_subject__ = "tier_scheme"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    program: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int]
    effective_from: Mapped[datetime]
    # The tiers, shaped by charter.tiers.rules.Scheme (validated before it is stored).
    tiers: Mapped[list[Any]]
    created_at: Mapped[datetime]


class TrackRecord(Base):
    """A figure the vendor recorded about a firm (deployments, satisfaction...); latest wins."""

    __tablename__ = "track_records"
    __table_args__ = (Index("ix_track_records_partner_metric", "partner_id", "metric"),)
    __event_subject__ = "track_record"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"))
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float]
    recorded_at: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]


class FirmTier(Base):
    """A firm's standing in one program: the tier it holds, and whether it is at risk."""

    __tablename__ = "firm_tiers"
    __event_subject__ = "partner"

    partner_id: Mapped[str] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    program: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[str | None] = mapped_column(String(64), index=True)
    since: Mapped[datetime | None]
    at_risk_since: Mapped[datetime | None]
    grace_until: Mapped[datetime | None]
    # What the held tier lacks while the firm is at risk.
    missing: Mapped[list[Any]]
    badge_id: Mapped[str | None] = mapped_column(String(40))
    scheme_version: Mapped[int | None]
    evaluated_at: Mapped[datetime]

    @property
    def id(self) -> str:
        """Events about a firm's standing name the firm."""
        return self.partner_id


class FirmHeadcount(Base):
    """How many of a firm's people hold a live award, as last counted: what the directory
    orders firms by (``charter.tiers.directory``), kept current by the worker."""

    __tablename__ = "firm_headcounts"
    __table_args__ = (Index("ix_firm_headcounts_people", "certified_people"),)

    partner_id: Mapped[str] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    certified_people: Mapped[int]
    counted_at: Mapped[datetime]


class FirmForecast(Base):
    """When a firm falls below the tier it holds in a program if nobody renews, as last
    worked out (``charter.tiers.forecast``), kept by the worker: counted hourly for every firm,
    and dropped for the firms each award or move of a person concerns.

    The forecast report replays only the firms whose kept answer says they may fall within its
    horizon, or whose answer is missing or stale; it never shows these rows themselves.
    """

    __tablename__ = "firm_forecasts"

    partner_id: Mapped[str] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    program: Mapped[str] = mapped_column(String(64), primary_key=True)
    falls_below_on: Mapped[datetime | None]
    """The first expiry at which the firm no longer meets its tier, within the days worked
    out; ``None`` if it meets it throughout."""
    scheme_version: Mapped[int]
    counted_at: Mapped[datetime]


class TierBadge(Base):
    """A firm's Open Badges 3.0 credential for a tier it holds, stored exactly as signed."""

    __tablename__ = "tier_badges"
    __table_args__ = (Index("ix_tier_badges_partner", "partner_id", "status"),)
    __event_subject__ = "tier_badge"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"))
    program: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(64))
    tier_name: Mapped[str] = mapped_column(String(200))
    scheme_version: Mapped[int]
    document: Mapped[str] = mapped_column(Text)
    signing_key_id: Mapped[str] = mapped_column(ForeignKey("signing_keys.id", ondelete="RESTRICT"))
    verification_method: Mapped[str] = mapped_column(String(600))
    issued_at: Mapped[datetime]
    revocation_list_id: Mapped[str] = mapped_column(
        ForeignKey("status_lists.id", ondelete="RESTRICT")
    )
    revocation_index: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]


class Termination(Base):
    """Why and when a firm was terminated, and the final report made then."""

    __tablename__ = "terminations"
    __event_subject__ = "termination"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(
        ForeignKey("partners.id", ondelete="RESTRICT"), unique=True
    )
    reason: Mapped[str] = mapped_column(Text)
    terminated_at: Mapped[datetime]
    # No licensing module records licenses yet: the flag tells it to wind them down.
    licenses_wind_down: Mapped[bool]
    report: Mapped[dict[str, Any]]
