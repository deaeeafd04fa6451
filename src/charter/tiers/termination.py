"""What terminating a firm does to its tiers, and the final report kept of it.

The steps run in order in :func:`charter.tiers.flows.terminate_partner`. People keep their
personal credentials: those are theirs wherever they work. The firm's licenses are marked for
wind-down on the termination record and in the ``partner.terminated`` event, for licensing to
act on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import events
from charter.core.auth import Permission, Principal
from charter.core.errors import NotFound
from charter.core.ids import is_id, new_id
from charter.credentials.models import Award
from charter.credentials.service import effective_status_of
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


def revoke_standings(
    db: Session, actor: Principal, *, partner_id: str, reason: str, at: datetime
) -> list[str]:
    """Revoke a terminated firm's badges and drop its tiers; returns the badges revoked."""
    actor.require(Permission.PARTNERS_LIFECYCLE)
    revoked: list[str] = []
    for badge in badges.live_badges(db, partner_id=partner_id):
        badges.revoke_firm_badge(db, actor, badge=badge, reason=f"partner terminated: {reason}")
        revoked.append(badge.id)
    for row in db.scalars(
        select(FirmTier).where(FirmTier.partner_id == partner_id, FirmTier.tier.is_not(None))
    ):
        events.append(
            db,
            actor,
            "tier.downgraded",
            FirmSubject(partner_id),
            partner_id=partner_id,
            from_tier=row.tier,
            from_tier_name=_tier_name(db, row),
            to_tier=None,
            to_tier_name=None,
        )
        row.tier = None
        row.since = at
        row.at_risk_since = None
        row.grace_until = None
        row.missing = []
        row.badge_id = None
        row.evaluated_at = at
    return revoked


def record_termination(
    db: Session,
    actor: Principal,
    *,
    partner: Partner,
    reason: str,
    at: datetime,
    firm_credentials_revoked: list[str],
    users_disabled: list[str],
    api_keys_revoked: list[str],
) -> Termination:
    """Keep the final report, licenses marked for wind-down; appends ``partner.terminated``."""
    actor.require(Permission.PARTNERS_LIFECYCLE)
    people = _people(db, partner.id)
    record = Termination(
        id=new_id("trm"),
        partner_id=partner.id,
        reason=reason,
        terminated_at=at,
        licenses_wind_down=True,
        report={
            "partner_name": partner.name,
            "people": people,
            "firm_credentials_revoked": firm_credentials_revoked,
            "users_disabled": users_disabled,
            "api_keys_revoked": api_keys_revoked,
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
        firm_credentials_revoked=firm_credentials_revoked,
        users_disabled=len(users_disabled),
        api_keys_revoked=len(api_keys_revoked),
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
