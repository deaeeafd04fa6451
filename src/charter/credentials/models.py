"""The awards table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base, Timestamped


class AwardStatus(StrEnum):
    """Where an award stands."""

    ACTIVE = "active"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class SubjectType(StrEnum):
    """Who holds an award: a person, or (with tiers) a whole firm."""

    PERSON = "person"
    FIRM = "firm"


_LIVE = text("status IN ('active', 'suspended')")


class Award(Timestamped, Base):
    """A certification awarded to a person (or firm), with its validity and status."""

    __tablename__ = "awards"
    __table_args__ = (
        # One live award per person and certification: duplicates are refused by the database
        # too, which is what makes concurrent identical requests safe.
        Index(
            "uq_awards_live_person",
            "certification_id",
            "person_id",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index("ix_awards_valid_until", "valid_until"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    certification_id: Mapped[str] = mapped_column(
        ForeignKey("certifications.id", ondelete="RESTRICT"), index=True
    )
    criteria_version_id: Mapped[str] = mapped_column(
        ForeignKey("criteria_versions.id", ondelete="RESTRICT")
    )
    subject_type: Mapped[str] = mapped_column(String(16), default=SubjectType.PERSON.value)
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("people.id", ondelete="RESTRICT"), index=True
    )
    # The firm the holder worked for when awarded (or the firm itself for a firm award).
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    issued_at: Mapped[datetime]
    valid_until: Mapped[datetime]
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    override_reason: Mapped[str | None] = mapped_column(Text)
    renewed_at: Mapped[datetime | None]
    renewal_count: Mapped[int] = mapped_column(default=0)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
