"""At-risk forecast: firms meeting their tier now that fall below it unless people renew.

Awards are taken to lapse at ``valid_until``; the firm's state is replayed at each expiry
within the horizon, and the people whose renewals would keep the tier are named.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.csvimport import chunks
from charter.core.errors import Invalid
from charter.credentials.models import Award
from charter.partners.models import Person
from charter.programs.models import Certification
from charter.tiers import rules
from charter.tiers.models import FirmTier
from charter.tiers.rules import FirmState, Tier
from charter.tiers.schemas import ForecastItem, RenewalCandidate, TierRef
from charter.tiers.schemes import certification_codes, schemes_in_force
from charter.tiers.state import active_award, read_firms, read_states, scoped_partner

FORECAST_HORIZONS = (30, 60, 90)


@dataclass(frozen=True, slots=True)
class _Holding:
    person_id: str
    name: str
    award_id: str
    code: str
    track: str
    valid_until: datetime
    renewal_window_days: int


def _holdings(db: Session, partner_ids: Sequence[str], now: datetime) -> dict[str, list[_Holding]]:
    found: dict[str, list[_Holding]] = defaultdict(list)
    for part in chunks(list(partner_ids)):
        query = (
            select(
                Person.partner_id,
                Person.id,
                Person.given_name,
                Person.family_name,
                Award.id,
                Certification.code,
                Certification.track,
                Award.valid_until,
                Certification.renewal_window_days,
            )
            .join(Person, Person.id == Award.person_id)
            .join(Certification, Certification.id == Award.certification_id)
            .where(active_award(now), Person.partner_id.in_(part))
        )
        for (
            partner_id,
            person_id,
            given,
            family,
            award_id,
            code,
            track,
            until,
            window,
        ) in db.execute(query):
            found[str(partner_id)].append(
                _Holding(
                    person_id,
                    f"{given} {family}".strip(),
                    award_id,
                    code,
                    track,
                    clock.ensure_utc(until),
                    window,
                )
            )
    return found


def _state_at(base: FirmState, holdings: Sequence[_Holding], at: datetime) -> FirmState:
    live = [(h.person_id, h.track, h.code) for h in holdings if h.valid_until > at]
    by_track, by_code = rules.certified_counts(live)
    return replace(base, certified_by_track=by_track, certified_by_certification=by_code)


def _savers(
    tier: Tier, state: FirmState, holdings: Sequence[_Holding], now: datetime, until: datetime
) -> list[_Holding]:
    needs = tier.requirements
    short_tracks = {
        track
        for track, wanted in needs.min_certified_by_track.items()
        if state.certified_by_track.get(track, 0) < wanted
    }
    short_codes = {
        code
        for code, wanted in needs.min_certified_by_certification.items()
        if state.certified_by_certification.get(code, 0) < wanted
    } | {
        code
        for code in needs.required_certifications
        if not state.certified_by_certification.get(code)
    }
    return sorted(
        (
            h
            for h in holdings
            if now < h.valid_until <= until and (h.track in short_tracks or h.code in short_codes)
        ),
        key=lambda h: (h.valid_until, h.name, h.award_id),
    )


def forecast(
    db: Session, actor: Principal, *, days: int, partner_id: str | None = None
) -> list[ForecastItem]:
    """Firms meeting their tier now that fall below it within ``days`` unless people renew.

    Awards are taken to lapse at ``valid_until`` (a renewal already made has moved it on);
    for each such firm, the people whose expiring awards the unmet requirements count on are
    named, earliest expiry first, with the day their renewal window opens.
    """
    actor.require(Permission.PARTNERS_READ)
    if days not in FORECAST_HORIZONS:
        raise Invalid.field("days", f"must be one of {', '.join(map(str, FORECAST_HORIZONS))}")
    scope = actor.partner_scope
    if partner_id is not None:
        scope_firm = scoped_partner(db, actor, partner_id)
        scope = scope_firm.id
    now = clock.now()
    until = now + timedelta(days=days)
    schemes = {found.program: found for found in schemes_in_force(db, now)}
    query = select(FirmTier).where(FirmTier.tier.is_not(None), FirmTier.at_risk_since.is_(None))
    if scope is not None:
        query = query.where(FirmTier.partner_id == scope)
    rows = [row for row in db.scalars(query) if row.program in schemes]
    ids = sorted({row.partner_id for row in rows})
    firms = {firm.id: firm for firm in read_firms(db, ids)} if ids else {}
    codes = certification_codes(schemes.values())
    states = read_states(db, list(firms.values()), codes, now, scoped=True) if firms else {}
    holdings = _holdings(db, ids, now) if ids else {}
    items = []
    for row in sorted(rows, key=lambda r: (firms[r.partner_id].name, r.program)):
        found = schemes[row.program]
        tier = found.scheme.get(row.tier)
        if tier is None or row.partner_id not in states:
            continue
        base = states[row.partner_id]
        held = holdings.get(row.partner_id, [])
        if rules.unmet(tier, _state_at(base, held, now)):
            continue  # below it already: the firm's standing says so
        expiries = sorted({h.valid_until for h in held if now < h.valid_until <= until})
        for moment in expiries:
            later = _state_at(base, held, moment)
            missing = rules.unmet(tier, later)
            if missing:
                end_state = _state_at(base, held, until)
                savers = _savers(tier, end_state, held, now, until)
                items.append(
                    ForecastItem(
                        partner_id=row.partner_id,
                        partner_name=firms[row.partner_id].name,
                        program=row.program,
                        tier=TierRef(key=tier.key, name=tier.name, rank=tier.rank),
                        days=days,
                        falls_below_on=moment,
                        missing=rules.unmet(tier, end_state),
                        renewals=[
                            RenewalCandidate(
                                person_id=h.person_id,
                                name=h.name,
                                award_id=h.award_id,
                                certification_code=h.code,
                                track=h.track,
                                valid_until=h.valid_until,
                                renewal_opens=h.valid_until - timedelta(days=h.renewal_window_days),
                            )
                            for h in savers
                        ],
                    )
                )
                break
    return items
