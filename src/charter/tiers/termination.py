"""Terminating a firm: its badges revoked, its users and keys disabled, a final report kept.

People keep their personal credentials: those are theirs wherever they work. The firm's
licenses are marked for wind-down on the termination record and in the ``partner.terminated``
event, for licensing to act on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, NotFound
from charter.core.ids import is_id, new_id
from charter.credentials.models import Award
from charter.credentials.service import effective_status_of
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner, Person
from charter.programs.models import Certification
from charter.tiers import badges
from charter.tiers.models import FirmTier, Termination, TierBadge
from charter.tiers.schemas import TerminationReport
from charter.tiers.service import FirmSubject


def _people(db: Session, partner_id: str) -> list[dict[str, Any]]:
    people = list(
        db.scalars(select(Person).where(Person.partner_id == partner_id).order_by(Person.id))
    )
    result = []
    for person in people:
        held = db.execute(
            select(Award, Certification.code)
            .join(Certification, Certification.id == Award.certification_id)
            .where(Award.person_id == person.id)
            .order_by(Award.issued_at, Award.id)
        ).all()
        result.append(
            {
                "person_id": person.id,
                "name": person.display_name,
                "credentials_kept": [
                    {
                        "award_id": award.id,
                        "certification_code": code,
                        "status": effective_status_of(award).value,
                        "valid_until": award.valid_until.isoformat(),
                    }
                    for award, code in held
                ],
            }
        )
    return result


def wind_up(db: Session, actor: Principal, *, partner: Partner, reason: str) -> Termination:
    """Everything terminating ``partner`` entails, in the caller's transaction (idempotent)."""
    actor.require(Permission.PARTNERS_LIFECYCLE)
    existing = db.scalar(select(Termination).where(Termination.partner_id == partner.id))
    if existing is not None:
        return existing
    now = clock.now()
    revoked_badges: list[str] = []
    for badge in badges.live_badges(db, partner_id=partner.id):
        badges.revoke_firm_badge(db, actor, badge=badge, reason=f"partner terminated: {reason}")
        revoked_badges.append(badge.id)
    for row in db.scalars(
        select(FirmTier).where(FirmTier.partner_id == partner.id, FirmTier.tier.is_not(None))
    ):
        events.append(
            db,
            actor,
            "tier.downgraded",
            FirmSubject(partner.id),
            partner_id=partner.id,
            from_tier=row.tier,
            from_tier_name=_tier_name(db, row),
            to_tier=None,
            to_tier_name=None,
        )
        row.tier = None
        row.since = now
        row.at_risk_since = None
        row.grace_until = None
        row.missing = []
        row.badge_id = None
        row.evaluated_at = now
    users, keys = accounts.disable_partner_access(
        db, actor, partner_id=partner.id, reason="partner terminated"
    )
    people = _people(db, partner.id)
    record = Termination(
        id=new_id("trm"),
        partner_id=partner.id,
        reason=reason,
        terminated_at=now,
        licenses_wind_down=True,
        report={
            "partner_name": partner.name,
            "people": people,
            "firm_credentials_revoked": revoked_badges,
            "users_disabled": users,
            "api_keys_revoked": keys,
        },
    )
    db.add(record)
    db.flush()
    events.append(
        db,
        actor,
        "partner.terminated",
        partner,
        partner_id=partner.id,
        termination_id=record.id,
        reason=reason,
        licenses_wind_down=True,
        firm_credentials_revoked=revoked_badges,
        users_disabled=len(users),
        api_keys_revoked=len(keys),
        people=len(people),
    )
    return record


def _tier_name(db: Session, row: FirmTier) -> str | None:
    for badge in badges.live_badges(db, partner_id=row.partner_id):
        if badge.program == row.program and badge.tier == row.tier:
            return badge.tier_name
    latest = db.scalar(
        select(TierBadge.tier_name)
        .where(
            TierBadge.partner_id == row.partner_id,
            TierBadge.program == row.program,
            TierBadge.tier == row.tier,
        )
        .order_by(TierBadge.issued_at.desc())
        .limit(1)
    )
    return latest or row.tier


def report_of(record: Termination) -> TerminationReport:
    """The final report of a termination."""
    report = record.report
    return TerminationReport(
        termination_id=record.id,
        partner_id=record.partner_id,
        partner_name=report.get("partner_name", ""),
        reason=record.reason,
        terminated_at=record.terminated_at,
        licenses_wind_down=record.licenses_wind_down,
        people=report.get("people", []),
        firm_credentials_revoked=report.get("firm_credentials_revoked", []),
        users_disabled=report.get("users_disabled", []),
        api_keys_revoked=report.get("api_keys_revoked", []),
    )


def terminate(db: Session, actor: Principal, *, partner_id: str, reason: str) -> TerminationReport:
    """Terminate a firm with a reason and return the final report."""
    from charter.partners import service as partners

    actor.require(Permission.PARTNERS_LIFECYCLE)
    partner = partners.get_partner(db, actor, partner_id=partner_id)
    if partner.status == PartnerStatus.TERMINATED.value:
        raise Conflict(f"partner {partner.name} is already terminated")
    partners.change_partner_status(
        db, actor, partner_id=partner.id, status=PartnerStatus.TERMINATED, reason=reason
    )
    return get_report(db, actor, partner_id=partner.id)


def get_report(db: Session, actor: Principal, *, partner_id: str) -> TerminationReport:
    """The final report of a terminated firm."""
    actor.require(Permission.PARTNERS_READ)
    record = None
    if is_id(partner_id, "prt") and (
        actor.partner_scope is None or actor.partner_scope == partner_id
    ):
        record = db.scalar(select(Termination).where(Termination.partner_id == partner_id))
    if record is None:
        raise NotFound(f"no termination of partner {partner_id}")
    return report_of(record)
