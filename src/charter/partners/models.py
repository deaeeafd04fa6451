"""Tables for partner firms and their people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from charter.core import clock
from charter.db.base import Base, Timestamped


class Partner(Timestamped, Base):
    """A partner firm."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    country: Mapped[str] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(500))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    # One entry per OnboardingCheck: {"done": bool, "at": iso, "by": actor, "note": str}.
    onboarding: Mapped[dict[str, Any]]
    # The public directory: a firm appears only while active and listed (its own choice); its
    # profile lives at /directory/<slug>, with its blurb (plain text).
    listed: Mapped[bool] = mapped_column(default=False, server_default=false(), index=True)
    slug: Mapped[str | None] = mapped_column(String(80), unique=True)
    blurb: Mapped[str | None] = mapped_column(Text)
    # A table rather than a JSON list so that "partners in EMEA" is an indexed join everywhere.
    region_rows: Mapped[list[PartnerRegion]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PartnerRegion.region"
    )

    @property
    def regions(self) -> list[str]:
        """The regions the firm operates in, in alphabetical order (as loaded)."""
        return sorted(row.region for row in self.region_rows)


class PartnerRegion(Base):
    """One region a firm operates in."""

    __tablename__ = "partner_regions"

    partner_id: Mapped[str] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class Person(Timestamped, Base):
    """A partner's staff member; certifications are theirs, wherever they work."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    track: Mapped[str] = mapped_column(String(16), index=True)
    # The firm they work for now (None between jobs); history lives in employments.
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id", ondelete="RESTRICT"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    # The holder's choice: their name appears on public credential pages only when true.
    show_name_publicly: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The holder's own DID (did:key or did:web), when they gave one: their credentials name it
    # as credentialSubject.id, beside the hashed email.
    did: Mapped[str | None] = mapped_column(String(500))
    # Loaded with the person (a second query per page, not per row) so API shapes can show them.
    email_rows: Mapped[list[PersonEmail]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="PersonEmail.created_at",
    )

    @property
    def display_name(self) -> str:
        """Given and family name."""
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def emails(self) -> list[str]:
        """Every address of the person, the primary one first."""
        rows = sorted(self.email_rows, key=lambda row: (not row.primary, row.created_at))
        return [row.email for row in rows]

    @property
    def primary_email(self) -> str | None:
        """The address to write to."""
        return next((row.email for row in self.email_rows if row.primary), None)


class PersonEmail(Base):
    """One of a person's email addresses; exactly one is primary."""

    __tablename__ = "person_emails"
    __event_subject__ = "person_email"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    primary: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class Employment(Base):
    """A person's time at a firm: joined, and left when they did."""

    __tablename__ = "employments"
    __table_args__ = (Index("ix_employments_partner_current", "partner_id", "left_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"))
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]


class Invitation(Base):
    """An invitation a partner user sent to an address, which its owner confirms by a link.

    ``kind`` ``person``: the owner joins the firm (a new person, or an existing one who moves
    with their credentials); ``email``: the address is added to ``person_id``, a colleague.
    Whether the address was known when invited is recorded nowhere: the invitation is the
    same either way, and only its confirmation looks the address up.
    """

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_partner_status", "partner_id", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)
    # pending, accepted or cancelled; an expired invitation is a pending one past expires_at.
    status: Mapped[str] = mapped_column(String(16))
    # kind email: the colleague who gets the address; kind person: who joined, once accepted.
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    track: Mapped[str | None] = mapped_column(String(16))
    did: Mapped[str | None] = mapped_column(String(500))
    primary: Mapped[bool] = mapped_column(default=False)
    invited_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    @property
    def state(self) -> str:
        """``status``, except that a pending invitation past its expiry reads as expired."""
        if self.status == "pending" and clock.now() >= clock.ensure_utc(self.expires_at):
            return "expired"
        return self.status


__all__ = [
    "Employment",
    "Invitation",
    "Partner",
    "PartnerRegion",
    "Person",
    "PersonEmail",
]


class TaxonomyEntry(Timestamped, Base):
    """One entry of the program's own lists: a track, a region or a partner type.

    Firms, people, certifications and licenses store the ``code``; an entry is never deleted
    once in use, only retired (no longer offered for new data, still shown with its label).
    """

    __tablename__ = "taxonomy_entries"
    __event_subject__ = "taxonomy_entry"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    retired: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A track's badge colour (#rrggbb); none: one picked from a palette by the code.
    colour: Mapped[str | None] = mapped_column(String(7))

    @property
    def id(self) -> str:
        """The entry's name in events: its kind and code (``region.emea``)."""
        return f"{self.kind}.{self.code}"


class RegionCountry(Base):
    """A country one region groups: a country belongs to at most one region."""

    __tablename__ = "taxonomy_region_countries"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    region: Mapped[str] = mapped_column(String(16), index=True)
