"""Tables for certifications, criteria versions and assessments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base, Timestamped


class Certification(Timestamped, Base):
    """A certification (an Open Badges Achievement) people earn."""

    __tablename__ = "certifications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    track: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(500))
    validity_days: Mapped[int]
    renewal_window_days: Mapped[int]
    retired_at: Mapped[datetime | None]


class CriteriaVersion(Base):
    """One published version of a certification's criteria, in force from ``effective_from``."""

    __tablename__ = "criteria_versions"
    __table_args__ = (UniqueConstraint("certification_id", "version", name="uq_criteria_version"),)
    __event_subject__ = "criteria_version"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    certification_id: Mapped[str] = mapped_column(
        ForeignKey("certifications.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    effective_from: Mapped[datetime]
    narrative: Mapped[str] = mapped_column(Text)
    # Machine-checkable requirements; shape defined by charter.programs.rules.Requirements.
    requirements: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class Assessment(Base):
    """An exam score, lab result, customer reference or training a person completed."""

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The exam, lab or training code; for a reference, the customer it comes from.
    code: Mapped[str] = mapped_column(String(200))
    score: Mapped[float | None]
    passed: Mapped[bool]
    assessor: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime]
    evidence_url: Mapped[str | None] = mapped_column(String(1000))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
