"""Rights follow the partner: a license holds only while its firm meets its agreement.

A license's compliance is kept apart from its lifecycle status, so a manual suspension and a
shortfall never overwrite each other. The fields on :class:`~charter.licensing.models.License`:

- ``compliance``: ``ok``; ``grace`` when the firm falls below the tier or certified headcount
  its agreement version requires (the license stays valid, with a warning, until
  ``grace_until``); ``lapsed`` once the grace period has passed (the license is denied until
  the firm meets the requirements again). Validation reads ``grace`` as ``IN_GRACE`` and
  ``lapsed`` as ``CERTIFICATION_REQUIRED``.
- ``compliance_missing``: what the firm lacks, one line each (``[]`` when ``ok``).
- ``grace_until``: when a grace period ends (``None`` when ``ok``).
- ``activations_closed_at``: set when the firm is terminated; from then the license allows no
  new activation (activations already made wind down with it).
- ``wind_down_until``: when the agreement's wind-down period ends and the license is
  terminated.

Every change is an event with its evidence: ``license.grace_started``, ``license.lapsed``,
``license.restored``, ``license.activations_closed`` (and ``license.terminated`` at the end of
the wind-down); webhooks and notices follow them. Nothing here runs per request: the worker
calls :func:`reassess_partner` when the tier engine records a change in a firm's standing or
its people's awards, and the hourly tasks call :func:`lapse_due` and :func:`end_wind_downs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.db.engine import settings_of
from charter.licensing import agreements, rules, service
from charter.licensing.enums import LicenseStatus
from charter.licensing.models import Agreement, AgreementTemplate, AgreementVersion, License
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner


class Compliance(StrEnum):
    """Whether a license's firm meets what its agreement requires."""

    OK = "ok"
    GRACE = "grace"
    LAPSED = "lapsed"


# Licenses whose rights can still be judged: the others are over for good, or wait for renewal.
_LIVE = (LicenseStatus.ACTIVE.value, LicenseStatus.SUSPENDED.value)
_ENDED = (LicenseStatus.REVOKED.value, LicenseStatus.TERMINATED.value)


@dataclass(frozen=True, slots=True)
class Change:
    """One license's compliance moving, as recorded."""

    license_id: str
    before: Compliance
    after: Compliance


def _payload(db: Session, license: License) -> dict[str, Any]:
    agreement = db.get(Agreement, license.agreement_id)
    assert agreement is not None  # a foreign key
    template = db.get(AgreementTemplate, agreement.template_id)
    assert template is not None  # a foreign key
    return {
        "agreement_id": agreement.id,
        "template_name": template.name,
        "version": agreement.version,
        "key_prefix": license.key_prefix,
    }


def _move(
    db: Session,
    actor: Principal,
    license: License,
    after: Compliance,
    *,
    missing: list[str],
    grace_until: datetime | None,
) -> Change:
    before = Compliance(license.compliance)
    license.compliance = after.value
    license.compliance_missing = missing
    license.grace_until = grace_until
    db.flush()
    kind = {
        Compliance.GRACE: "grace_started",
        Compliance.LAPSED: "lapsed",
        Compliance.OK: "restored",
    }[after]
    events.append(
        db,
        actor,
        f"license.{kind}",
        license,
        partner_id=license.partner_id,
        **_payload(db, license),
        from_compliance=before.value,
        to_compliance=after.value,
        missing=missing,
        grace_until=grace_until,
    )
    return Change(license.id, before, after)


def judge(
    compliance: Compliance,
    *,
    missing: list[str],
    grace_until: datetime | None,
    at: datetime,
    grace: timedelta,
) -> tuple[Compliance, datetime | None]:
    """Where a license's compliance goes at ``at``, given what its firm lacks now."""
    if not missing:
        return Compliance.OK, None
    if compliance is Compliance.OK:
        until = at + grace
        return (Compliance.GRACE, until) if until > at else (Compliance.LAPSED, until)
    if compliance is Compliance.GRACE and grace_until is not None and grace_until <= at:
        return Compliance.LAPSED, grace_until
    return compliance, grace_until


def reassess_partner(
    db: Session, actor: Principal, *, partner_id: str, at: datetime | None = None
) -> list[Change]:
    """Judge every live license of a firm against its agreement version's requirements now,
    and refresh what each entitles to; returns the compliance changes recorded.

    Idempotent: judging a firm whose standing did not change records nothing. A terminated
    firm's licenses are winding down and are left alone.
    """
    actor.require(Permission.LICENSES_MANAGE)
    now = at or clock.now()
    partner = db.get(Partner, partner_id)
    if partner is None or partner.status == PartnerStatus.TERMINATED.value:
        return []
    licenses = db.scalars(
        select(License)
        .where(
            License.partner_id == partner_id,
            License.status.in_(_LIVE),
            License.valid_until > now,
            License.activations_closed_at.is_(None),
        )
        .order_by(License.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    grace = timedelta(days=settings_of(db).license_grace_days)
    unmet: dict[str, list[str]] = {}
    changes: list[Change] = []
    for license in licenses:
        agreement = db.get(Agreement, license.agreement_id)
        assert agreement is not None  # a foreign key
        if agreement.version_id not in unmet:
            version = db.get(AgreementVersion, agreement.version_id)
            assert version is not None  # a foreign key
            requirements = rules.Requirements.model_validate(version.requirements)
            unmet[agreement.version_id] = agreements.check_requirements(
                db, partner_id=partner_id, requirements=requirements, at=now
            )
        missing = unmet[agreement.version_id]
        before = Compliance(license.compliance)
        after, until = judge(
            before, missing=missing, grace_until=license.grace_until, at=now, grace=grace
        )
        if after is not before:
            changes.append(_move(db, actor, license, after, missing=missing, grace_until=until))
        elif after is not Compliance.OK and list(license.compliance_missing) != missing:
            license.compliance_missing = missing  # still short, of something else: no news
        service.refresh_entitlements(db, license, actor=actor)
    db.flush()
    return changes


def lapse_due(db: Session, actor: Principal, *, at: datetime | None = None) -> list[Change]:
    """Judge again every firm with a license whose grace period has ended (the hourly task):
    a firm still short has its licenses lapse, one that caught up has them restored."""
    actor.require(Permission.LICENSES_MANAGE)
    now = at or clock.now()
    firms = db.scalars(
        select(License.partner_id)
        .where(License.compliance == Compliance.GRACE.value, License.grace_until <= now)
        .distinct()
        .order_by(License.partner_id)
    ).all()
    changes: list[Change] = []
    for partner_id in firms:
        changes.extend(reassess_partner(db, actor, partner_id=partner_id, at=now))
    return changes


def close_activations(
    db: Session, actor: Principal, *, partner_id: str, reason: str, at: datetime | None = None
) -> list[License]:
    """A terminated firm's licenses allow no new activation from now, and are terminated
    when their agreement's wind-down period ends; returns the licenses closed.

    Idempotent: licenses already closed are left as they are.
    """
    actor.require(Permission.LICENSES_MANAGE)
    now = at or clock.now()
    licenses = db.scalars(
        select(License)
        .where(
            License.partner_id == partner_id,
            License.status.not_in(_ENDED),
            License.activations_closed_at.is_(None),
        )
        .order_by(License.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for license in licenses:
        agreement = db.get(Agreement, license.agreement_id)
        assert agreement is not None  # a foreign key
        version = db.get(AgreementVersion, agreement.version_id)
        assert version is not None  # a foreign key
        days = rules.Terms.model_validate(version.terms).termination.wind_down_days
        license.activations_closed_at = now
        license.wind_down_until = now + timedelta(days=days)
        db.flush()
        events.append(
            db,
            actor,
            "license.activations_closed",
            license,
            **_payload(db, license),
            reason=reason,
            wind_down_days=days,
            wind_down_until=license.wind_down_until,
        )
    end_wind_downs(db, actor, at=now, partner_id=partner_id)
    return list(licenses)


def end_wind_downs(
    db: Session, actor: Principal, *, at: datetime | None = None, partner_id: str | None = None
) -> int:
    """Terminate every license whose wind-down period has ended (the hourly task); how many."""
    actor.require(Permission.LICENSES_MANAGE)
    now = at or clock.now()
    query = select(License.id).where(License.wind_down_until <= now, License.status.not_in(_ENDED))
    if partner_id is not None:
        query = query.where(License.partner_id == partner_id)
    due = db.scalars(query.order_by(License.id)).all()
    for license_id in due:
        service.terminate_license(
            db,
            actor,
            license_id=license_id,
            reason="the firm was terminated and the agreement's wind-down period ended",
        )
    return len(due)
