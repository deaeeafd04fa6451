"""Licensing tables: products, agreement templates and their versions, signed agreements,
licenses and their activations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base, Timestamped


class Product(Timestamped, Base):
    """Something the vendor licenses, with the features a license can grant."""

    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # [{"key": ..., "name": ..., "description": ...}], keys unique (charter.licensing.schemas).
    features: Mapped[list[Any]]


class AgreementTemplate(Timestamped, Base):
    """A license agreement the vendor offers for a product; its text lives in its versions."""

    __tablename__ = "agreement_templates"
    __event_subject__ = "agreement_template"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )


class AgreementVersion(Base):
    """One published version of a template's terms and requirements, from ``effective_from``.

    Versions are never changed: a change to a template is a new version.
    """

    __tablename__ = "agreement_versions"
    __table_args__ = (
        UniqueConstraint("template_id", "version", name="uq_agreement_versions_version"),
    )
    __event_subject__ = "agreement_version"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    template_id: Mapped[str] = mapped_column(
        ForeignKey("agreement_templates.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int]
    effective_from: Mapped[datetime]
    # What changed from the version before, in the vendor's words.
    summary: Mapped[str] = mapped_column(Text)
    # Shaped by charter.licensing.rules.Terms and .Requirements (validated before storing).
    terms: Mapped[dict[str, Any]]
    requirements: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class Agreement(Base):
    """A firm's signature of one version of a template: who signed, and when."""

    __tablename__ = "agreements"
    __table_args__ = (Index("ix_agreements_partner_template", "partner_id", "template_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"))
    template_id: Mapped[str] = mapped_column(
        ForeignKey("agreement_templates.id", ondelete="RESTRICT"), index=True
    )
    version_id: Mapped[str] = mapped_column(
        ForeignKey("agreement_versions.id", ondelete="RESTRICT")
    )
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_email: Mapped[str] = mapped_column(String(320))
    signer_title: Mapped[str | None] = mapped_column(String(200))
    # The user (or API key) who recorded the signature.
    signed_by: Mapped[str | None] = mapped_column(String(40))
    signed_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]
    superseded_by: Mapped[str | None] = mapped_column(String(40))


class License(Timestamped, Base):
    """A license granted to a firm under a signed agreement.

    The key itself is not stored in the clear: ``key_hash`` (an HMAC under a key derived from
    the deployment secret) finds a license by its key, and ``key_sealed`` (AES-GCM under
    another derived key) lets the firm's admin read it again; a copy of the database alone
    yields neither.
    """

    __tablename__ = "licenses"
    __table_args__ = (Index("ix_licenses_partner_status", "partner_id", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"))
    agreement_id: Mapped[str] = mapped_column(
        ForeignKey("agreements.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    seats: Mapped[int]
    # charter.licensing.enums.SeatModel: how activations hold the seats.
    seat_model: Mapped[str] = mapped_column(String(16), server_default="node_locked")
    entitlements: Mapped[list[Any]]
    regions: Mapped[list[Any]]
    countries: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    renewed_at: Mapped[datetime | None]
    # Whether the firm still meets its agreement's requirements, apart from the lifecycle
    # above (charter.licensing.compliance): ``ok``, ``grace`` until ``grace_until``, or
    # ``lapsed``; ``compliance_missing`` says what the firm lacks.
    compliance: Mapped[str] = mapped_column(String(16), default="ok", server_default="ok")
    compliance_missing: Mapped[list[Any]] = mapped_column(default=list)
    grace_until: Mapped[datetime | None]
    # Set when the firm is terminated: no new activations from then, and the license is
    # terminated when its agreement's wind-down period ends, at ``wind_down_until``.
    activations_closed_at: Mapped[datetime | None]
    wind_down_until: Mapped[datetime | None]


class LicenseActivation(Timestamped, Base):
    """A deployment of the licensed software holding one of a license's seats.

    A machine is known by its ``fingerprint``; at most one activation of a license per
    fingerprint is active at a time (a partial unique index). ``kind`` is the license's seat
    model when it was activated. See :mod:`charter.licensing.activations`.
    """

    __tablename__ = "license_activations"
    __table_args__ = (
        Index(
            "uq_license_activations_active_fingerprint",
            "license_id",
            "fingerprint",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
        Index("ix_license_activations_reaping", "state", "kind", "last_heartbeat_at"),
    )
    __event_subject__ = "license_activation"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    license_id: Mapped[str] = mapped_column(
        ForeignKey("licenses.id", ondelete="RESTRICT"), index=True
    )
    fingerprint: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(16))
    # An ISO 3166-1 country or an ISO 3166-2 subdivision (UA-43).
    country: Mapped[str | None] = mapped_column(String(6))
    customer_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    activated_at: Mapped[datetime]
    last_heartbeat_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None]
    # Why it ended: who deactivated it and why, or that its heartbeats stopped.
    ended_reason: Mapped[str | None] = mapped_column(Text)
