"""Firms' standings as stored: the tier held, at risk or not, the grace left, and what's next.

Evaluation (:mod:`charter.tiers.service`) writes standings; this module reads them, and tells
a firm what its next tier up needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.db.engine import settings_of
from charter.tiers import badges, rules
from charter.tiers.models import FirmTier
from charter.tiers.rules import Standing, Tier
from charter.tiers.schemas import FirmTierOut, TierRef
from charter.tiers.schemes import SchemeInForce, certification_codes, schemes_in_force
from charter.tiers.state import read_firms, read_states, scoped_partner


def standing_of(row: FirmTier | None) -> Standing:
    """A stored standing as the engine's value (no row: no tier yet)."""
    if row is None:
        return Standing()
    return Standing(
        tier=row.tier,
        since=row.since,
        at_risk_since=row.at_risk_since,
        grace_until=row.grace_until,
        missing=tuple(row.missing or ()),
    )


def _tier_ref(tier: Tier | None) -> TierRef | None:
    return TierRef(key=tier.key, name=tier.name, rank=tier.rank) if tier else None


@dataclass(frozen=True, slots=True)
class Progress:
    """A firm's standing in one program, and what the next tier up needs, item by item."""

    standing: FirmTierOut
    next_tier_shortfalls: list[rules.Shortfall]


def firm_tiers(db: Session, actor: Principal, *, partner_id: str) -> list[FirmTierOut]:
    """A firm's standing in every program, with what the next tier up needs."""
    return [item.standing for item in firm_progress(db, actor, partner_id=partner_id)]


def firm_progress(db: Session, actor: Principal, *, partner_id: str) -> list[Progress]:
    """A firm's standing in every program, with the next tier's shortfalls as values (for
    pages that word them for the firm)."""
    actor.require(Permission.PARTNERS_READ)
    partner = scoped_partner(db, actor, partner_id)
    now = clock.now()
    rows = {
        row.program: row
        for row in db.scalars(select(FirmTier).where(FirmTier.partner_id == partner.id))
    }
    schemes = schemes_in_force(db, now)
    firms = read_firms(db, [partner.id])
    state = read_states(db, firms, certification_codes(schemes), now, scoped=True)[partner.id]
    settings = settings_of(db)
    result = []
    for found in schemes:
        row = rows.get(found.program)
        standing = standing_of(row)
        evaluation = rules.evaluate(found.scheme, state)
        held = found.scheme.get(standing.tier)
        standing_out = FirmTierOut(
            partner_id=partner.id,
            program=found.program,
            scheme_version=found.version,
            tier=_tier_ref(held),
            since=standing.since,
            at_risk=standing.at_risk_since is not None,
            at_risk_since=standing.at_risk_since,
            grace_until=standing.grace_until,
            missing=list(standing.missing),
            qualified=_tier_ref(evaluation.qualified),
            next_tier=_tier_ref(evaluation.next_tier),
            next_tier_missing=evaluation.missing,
            benefits=held.benefits if held else None,
            badge_id=row.badge_id if row else None,
            badge_url=badges.badge_url(settings, row.badge_id) if row and row.badge_id else None,
            evaluated_at=row.evaluated_at if row else None,
        )
        next_shortfalls = (
            rules.shortfalls(evaluation.next_tier, state) if evaluation.next_tier else []
        )
        result.append(Progress(standing_out, next_shortfalls))
    return result


def list_standings(
    db: Session,
    actor: Principal,
    *,
    program: str | None = None,
    tier: str | None = None,
    at_risk: bool | None = None,
) -> list[FirmTier]:
    """Firms' stored standings (partner users: their own firm's)."""
    actor.require(Permission.PARTNERS_READ)
    query = select(FirmTier).order_by(FirmTier.partner_id, FirmTier.program)
    if actor.partner_scope is not None:
        query = query.where(FirmTier.partner_id == actor.partner_scope)
    if program is not None:
        query = query.where(FirmTier.program == program)
    if tier is not None:
        query = query.where(FirmTier.tier == tier)
    if at_risk is True:
        query = query.where(FirmTier.at_risk_since.is_not(None))
    elif at_risk is False:
        query = query.where(FirmTier.at_risk_since.is_(None))
    return list(db.scalars(query))


@dataclass(frozen=True, slots=True)
class HeldTier:
    """The tier a firm holds in one program as stored (``None``: none), with the scheme."""

    scheme: SchemeInForce
    tier: Tier | None


def held_tiers(db: Session, *, partner_id: str, at: datetime) -> dict[str, HeldTier]:
    """The tier a firm holds in each program with a scheme in force at ``at``, by program.

    The stored standing, as the last evaluation left it (grace periods included), not a new
    evaluation: what the firm holds is what it is entitled to.
    """
    query = select(FirmTier.program, FirmTier.tier).where(FirmTier.partner_id == partner_id)
    held: dict[str, str | None] = {row.program: row.tier for row in db.execute(query)}
    return {
        found.program: HeldTier(found, found.scheme.get(held.get(found.program)))
        for found in schemes_in_force(db, at)
    }
