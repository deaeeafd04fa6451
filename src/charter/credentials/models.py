"""The awards, issued credentials and status lists tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, Index, LargeBinary, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column

from charter.credentials.enums import SubjectType
from charter.crypto import models as _crypto_models  # noqa: F401 - signing_keys for the FK
from charter.db.base import Base, Timestamped

_LIVE = text("status IN ('active', 'suspended')")
_RENEWED = text("renewal_count > 0")


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
        # Counts by status and certification (the dashboard, renewal and lapse rates) read this
        # index alone, not a million rows.
        Index("ix_awards_status_certification", "status", "certification_id"),
        # Live awards by end date: expiries ahead, and live awards past their end that the
        # sweep has not marked expired yet; a few rows, however many awards have ended.
        Index(
            "ix_awards_live_until",
            "valid_until",
            "status",
            "certification_id",
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        # Renewals per certification, from the awards renewed at least once.
        Index(
            "ix_awards_renewed",
            "certification_id",
            "renewal_count",
            sqlite_where=_RENEWED,
            postgresql_where=_RENEWED,
        ),
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
    status: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime]
    valid_until: Mapped[datetime]
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    override_reason: Mapped[str | None] = mapped_column(Text)
    renewed_at: Mapped[datetime | None]
    renewal_count: Mapped[int] = mapped_column(default=0)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    # The holder's choice for this badge's public page: their name shown or not. None: as
    # their person-wide choice (Person.show_name_publicly, off unless they turned it on).
    show_holder_name: Mapped[bool | None]


_LIVE_CREDENTIAL = text("status IN ('active', 'suspended')")


class IssuedCredential(Base):
    """An award's signed Open Badges 3.0 credential, stored exactly as it was signed."""

    __tablename__ = "issued_credentials"
    __event_subject__ = "credential"
    __table_args__ = (
        # One live credential per award: a concurrent second issuance fails in the database.
        Index(
            "uq_issued_credentials_live_award",
            "award_id",
            unique=True,
            sqlite_where=_LIVE_CREDENTIAL,
            postgresql_where=_LIVE_CREDENTIAL,
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    award_id: Mapped[str] = mapped_column(ForeignKey("awards.id", ondelete="RESTRICT"), index=True)
    # The JSON text as signed; served byte for byte, never rebuilt from parsed values.
    document: Mapped[str] = mapped_column(Text)
    signing_key_id: Mapped[str] = mapped_column(ForeignKey("signing_keys.id", ondelete="RESTRICT"))
    verification_method: Mapped[str] = mapped_column(String(600))
    issued_at: Mapped[datetime]
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    revocation_list_id: Mapped[str] = mapped_column(
        ForeignKey("status_lists.id", ondelete="RESTRICT")
    )
    revocation_index: Mapped[int]
    suspension_list_id: Mapped[str] = mapped_column(
        ForeignKey("status_lists.id", ondelete="RESTRICT")
    )
    suspension_index: Mapped[int]
    superseded_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("issued_credentials.id", ondelete="RESTRICT")
    )
    # Not indexed alone: it is only ever queried with award_id (uq_issued_credentials_live_award),
    # and three values would make a poor index that every issuance pays to maintain.
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    # The salt of the holder's identity hash: with it and a guessed address anyone could test
    # the guess, which the credential already allows; stored so a reissue can reuse the hash.
    # Not part of any API shape.
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


# PostgreSQL compresses the signed document (a few kilobytes, past the TOAST threshold) as it
# stores it; lz4 does that at a fraction of the default pglz's cost, which bulk issuance pays
# once per credential. Servers built without lz4 (or before PostgreSQL 14) keep the default.
DOCUMENT_COMPRESSION = DDL(  # type: ignore[no-untyped-call]
    "DO $$ BEGIN "
    "EXECUTE 'ALTER TABLE issued_credentials ALTER COLUMN document SET COMPRESSION lz4'; "
    "EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL; "
    "END $$"
)
event.listen(
    IssuedCredential.__table__,
    "after_create",
    DOCUMENT_COMPRESSION.execute_if(dialect="postgresql"),
)


class StatusList(Base):
    """One W3C Bitstring Status List (revocation or suspension) of one issuer."""

    __tablename__ = "status_lists"
    __event_subject__ = "status_list"
    __table_args__ = (Index("ix_status_lists_open", "purpose", "controller", "used"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    # The issuer (key controller) whose credentials point here; it signs the list.
    controller: Mapped[str] = mapped_column(String(500))
    size: Mapped[int]
    # The published status bits, MSB-first (charter.credentials.statuslist.StatusBits).
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    # Which indexes are handed out, as a bitmap of the same layout (status_list_entries is the
    # guarantee; this lets allocation draw a free index without reading every entry).
    allocated: Mapped[bytes] = mapped_column(LargeBinary)
    used: Mapped[int] = mapped_column(default=0)
    # Bumped on every bit change; the signed copy is redone only when it is behind.
    version: Mapped[int] = mapped_column(default=1)
    signed_document: Mapped[str | None] = mapped_column(Text)
    signed_version: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StatusListEntry(Base):
    """One handed-out index of a status list; the primary key forbids handing it out twice."""

    __tablename__ = "status_list_entries"
    # On SQLite the primary key is the table (one B-tree per entry, not two).
    __table_args__ = ({"sqlite_with_rowid": False},)

    list_id: Mapped[str] = mapped_column(
        ForeignKey("status_lists.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_at: Mapped[datetime]
