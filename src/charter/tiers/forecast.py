"""At-risk forecast: firms meeting their tier now that fall below it unless people renew.

Awards are taken to lapse at ``valid_until``; the firm's state is replayed at each expiry
within the horizon, and the people whose renewals would keep the tier are named.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.orm import Session, aliased

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.csvimport import chunks
from charter.core.errors import Invalid
from charter.credentials.models import Award
from charter.partners.models import Person
from charter.programs.models import Certification
from charter.tiers import rules
from charter.tiers.models import FirmForecast, FirmTier
from charter.tiers.rules import FirmState, Tier
from charter.tiers.schemas import ForecastItem, RenewalCandidate, TierRef
from charter.tiers.schemes import SchemeInForce, certification_codes, schemes_in_force
from charter.tiers.state import Firm, active_award, read_firms, read_states, scoped_partner

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


KEPT_DAYS = max(FORECAST_HORIZONS) + 1
"""How far ahead the kept forecasts look: the longest horizon and a day more, so that one
worked out up to :data:`KEPT_FOR` ago still covers the longest horizon from now."""
KEPT_FOR = timedelta(days=1)
SCOPED_AT_MOST = 2000
"""Firms counted with queries confined to them; more are counted in one pass over awards."""


def _falling(
    db: Session,
    rows: Sequence[FirmTier],
    schemes: dict[str, SchemeInForce],
    now: datetime,
    until: datetime,
) -> tuple[list[tuple[FirmTier, Tier]], dict[str, Firm], dict[str, FirmState]]:
    """The standings of ``rows`` whose firm meets its tier now and is short of it at
    ``until`` if nobody renews; with the firms and their states now.

    Without renewals, counts only fall as awards lapse, and a tier asks for counts of at least
    so many: a firm meeting its tier at the end met it at every expiry before. So two counts
    of every firm (now and at the end) find the firms to replay, expiry by expiry; the others'
    holdings are never read.
    """
    ids = sorted({row.partner_id for row in rows})
    if not ids:
        return [], {}, {}
    firms = {firm.id: firm for firm in read_firms(db, ids)}
    codes = certification_codes(schemes.values())
    scoped = len(ids) <= SCOPED_AT_MOST
    states = read_states(db, list(firms.values()), codes, now, scoped=scoped)
    at_end = read_states(db, list(firms.values()), codes, until, scoped=scoped)
    falling = []
    for row in rows:
        tier = schemes[row.program].scheme.get(row.tier)
        if tier is None or row.partner_id not in states:
            continue
        base, end = states[row.partner_id], at_end[row.partner_id]
        later = replace(
            base,
            certified_by_track=end.certified_by_track,
            certified_by_certification=end.certified_by_certification,
        )
        if not rules.unmet(tier, base) and rules.unmet(tier, later):
            falling.append((row, tier))
    return falling, firms, states


def _first_fall(
    tier: Tier, base: FirmState, held: Sequence[_Holding], now: datetime, until: datetime
) -> datetime | None:
    """The first expiry by ``until`` after which the firm no longer meets ``tier``."""
    for moment in sorted({h.valid_until for h in held if now < h.valid_until <= until}):
        if rules.unmet(tier, _state_at(base, held, moment)):
            return moment
    return None


def _standings(
    db: Session, schemes: dict[str, SchemeInForce], partner_ids: Sequence[str] | None
) -> list[FirmTier]:
    """The standings a forecast looks at: a tier held, not at risk, in a program in force."""
    query = select(FirmTier).where(FirmTier.tier.is_not(None), FirmTier.at_risk_since.is_(None))
    if partner_ids is not None:
        query = query.where(FirmTier.partner_id.in_(partner_ids))
    return [row for row in db.scalars(query) if row.program in schemes]


def _candidates(
    db: Session, schemes: dict[str, SchemeInForce], now: datetime, until: datetime
) -> list[FirmTier]:
    """The standings to replay for a forecast of every firm up to ``until``: those the kept
    forecasts say may fall by then, and those with no kept forecast that still holds (none
    yet, worked out over a day ago, before the standing last changed, or under another
    scheme version). With the worker keeping them, a few firms; without, every firm."""
    if not schemes:
        return []  # no program has tiers in force: no standing to forecast
    kept = aliased(FirmForecast)
    another_version = or_(
        *(
            and_(FirmTier.program == program, kept.scheme_version != found.version)
            for program, found in schemes.items()
        )
    )
    query = (
        select(FirmTier)
        .outerjoin(
            kept, and_(kept.partner_id == FirmTier.partner_id, kept.program == FirmTier.program)
        )
        .where(
            FirmTier.tier.is_not(None),
            FirmTier.at_risk_since.is_(None),
            or_(
                kept.partner_id.is_(None),
                kept.counted_at < now - KEPT_FOR,
                kept.counted_at > now,
                kept.counted_at < FirmTier.evaluated_at,
                another_version,
                kept.falls_below_on <= until,
            ),
        )
    )
    return [row for row in db.scalars(query) if row.program in schemes]


def count_falls(db: Session, now: datetime, partner_ids: Sequence[str] | None = None) -> int:
    """Work out and keep when every firm (or those of ``partner_ids``) falls below its tier
    within :data:`KEPT_DAYS` if nobody renews; returns how many standings were looked at.

    The worker runs this hourly for every firm, and forgets the kept forecasts of the firms
    each award or move of a person concerns (:func:`forget`): the forecast report replays only
    the firms that may fall and those it has no kept forecast for.
    """
    ids = None if partner_ids is None else sorted(set(partner_ids))
    if ids is not None and not ids:
        return 0
    schemes = {found.program: found for found in schemes_in_force(db, now)}
    until = now + timedelta(days=KEPT_DAYS)
    rows = _standings(db, schemes, ids)
    falling, _, states = _falling(db, rows, schemes, now, until)
    holdings = _holdings(db, sorted({row.partner_id for row, _ in falling}), now)
    falls = {
        (row.partner_id, row.program): _first_fall(
            tier, states[row.partner_id], holdings.get(row.partner_id, []), now, until
        )
        for row, tier in falling
    }
    remove = delete(FirmForecast)
    if ids is not None:
        remove = remove.where(FirmForecast.partner_id.in_(ids))
    db.execute(remove)
    if rows:
        db.execute(
            insert(FirmForecast),
            [
                {
                    "partner_id": row.partner_id,
                    "program": row.program,
                    "falls_below_on": falls.get((row.partner_id, row.program)),
                    "scheme_version": schemes[row.program].version,
                    "counted_at": now,
                }
                for row in rows
            ],
        )
    return len(rows)


def forget(db: Session, partner_ids: Sequence[str]) -> None:
    """Drop the kept forecasts of these firms (an award or a move changed what they hold):
    the report replays them until the next count, one statement here instead of a count."""
    if partner_ids:
        db.execute(delete(FirmForecast).where(FirmForecast.partner_id.in_(sorted(partner_ids))))


def forecast(
    db: Session, actor: Principal, *, days: int, partner_id: str | None = None
) -> list[ForecastItem]:
    """Firms meeting their tier now that fall below it within ``days`` unless people renew.

    Awards are taken to lapse at ``valid_until`` (a renewal already made has moved it on);
    for each such firm, the people whose expiring awards the unmet requirements count on are
    named, earliest expiry first, with the day their renewal window opens. Over every firm,
    only the firms the kept forecasts point at (:func:`_candidates`) are worked out again.
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
    if scope is None:
        rows = _candidates(db, schemes, now, until)
    else:
        rows = _standings(db, schemes, [scope])
    falling, firms, states = _falling(db, rows, schemes, now, until)
    holdings = _holdings(db, sorted({row.partner_id for row, _ in falling}), now)
    items = []
    for row, tier in sorted(
        falling, key=lambda item: (firms[item[0].partner_id].name, item[0].program)
    ):
        base = states[row.partner_id]
        held = holdings.get(row.partner_id, [])
        moment = _first_fall(tier, base, held, now, until)
        if moment is None:
            continue
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
    return items
