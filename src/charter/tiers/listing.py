"""Listing firms by the tier they hold: the partners list's tier filter and tier column.

The partners domain lists firms but knows nothing of tiers; this narrows its list to the firms
holding a tier, through :func:`charter.partners.firms.list_partners`, so every other filter,
the caller's permission and partner scope stay that service's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.pagination import DEFAULT_LIMIT, Page
from charter.core.text import text_filter
from charter.partners import firms
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner
from charter.tiers.models import FirmTier
from charter.tiers.schemes import schemes_in_force


@dataclass(frozen=True, slots=True)
class TierChoice:
    """A tier of a scheme in force, as a filter offers it."""

    key: str
    name: str
    program: str


def tier_choices(db: Session, actor: Principal) -> list[TierChoice]:
    """The tiers of every scheme in force, highest first in each program."""
    actor.require(Permission.PARTNERS_READ)
    return [
        TierChoice(tier.key, tier.name, found.program)
        for found in sorted(schemes_in_force(db, clock.now()), key=lambda found: found.program)
        for tier in sorted(found.scheme.tiers, key=lambda tier: -tier.rank)
    ]


def list_partners(
    db: Session,
    actor: Principal,
    *,
    tier: str | None = None,
    status: PartnerStatus | None = None,
    type: str | None = None,
    region: str | None = None,
    country: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Partner]:
    """Partner firms as the partners service lists them; with ``tier``, those holding it.

    ``tier`` is a tier's key, held in any program.
    """
    key = text_filter(tier, "tier")
    among = None
    if key is not None:
        among = select(FirmTier.partner_id).where(FirmTier.tier == key)
    return firms.list_partners(
        db,
        actor,
        status=status,
        type=type,
        region=region,
        country=country,
        q=q,
        among=among,
        cursor=cursor,
        limit=limit,
    )


def held_tier_names(
    db: Session, actor: Principal, *, partner_ids: Sequence[str]
) -> dict[str, list[str]]:
    """The names of the tiers each firm holds now (in every program), by firm id."""
    actor.require(Permission.PARTNERS_READ)
    ids = [
        partner_id
        for partner_id in partner_ids
        if actor.partner_scope is None or partner_id == actor.partner_scope
    ]
    if not ids:
        return {}
    names = {
        (found.program, tier.key): tier.name
        for found in schemes_in_force(db, clock.now())
        for tier in found.scheme.tiers
    }
    query = (
        select(FirmTier.partner_id, FirmTier.program, FirmTier.tier)
        .where(FirmTier.partner_id.in_(ids), FirmTier.tier.is_not(None))
        .order_by(FirmTier.partner_id, FirmTier.program)
    )
    held: dict[str, list[str]] = defaultdict(list)
    for partner_id, program, key in db.execute(query):
        held[partner_id].append(names.get((program, key or ""), key or ""))
    return dict(held)
