"""The figures on the dashboard: counts and recent events, confined to what the viewer may see.

These are read-only aggregate queries. The domain services list records page by page, which
would mean loading every row to count them; counting in the database is one query per figure.
Every query obeys the principal's permissions and partner scope exactly as the services do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.models import Event
from charter.credentials import service as credentials
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.credentials.rules import LIVE_STATUSES
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner, Person
from charter.programs.models import Certification
from charter.tiers import schemes as tiers
from charter.tiers.models import FirmTier

EXPIRY_HORIZON = timedelta(days=30)
RECENT_EVENTS = 20

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True, slots=True)
class RecentEvent:
    """One line of the recent-activity table."""

    seq: int
    occurred_at: datetime
    type: str
    subject_type: str
    subject_id: str
    actor_type: str
    partner_name: str | None


@dataclass(frozen=True, slots=True)
class TierCount:
    """How many firms hold one tier of a program, and how many of them are at risk."""

    program: str
    key: str
    name: str
    firms: int
    at_risk: int


@dataclass(frozen=True, slots=True)
class FirmTierLine:
    """The viewer's own firm's tier in one program."""

    program: str
    name: str
    at_risk: bool
    grace_until: datetime | None
    badge_id: str | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the dashboard shows; ``None`` for a figure the viewer may not see."""

    at: datetime
    firm: Partner | None = None
    partners_by_status: dict[str, int] | None = None
    people: int | None = None
    certifications: int | None = None
    awards_by_status: dict[str, int] | None = None
    awards_expiring: int | None = None
    expiring_before: datetime | None = None
    recent_events: list[RecentEvent] | None = field(default=None)
    tiers: list[TierCount] | None = None
    firm_tiers: list[FirmTierLine] | None = None
    # Whether the tiles link to the program reports (vendor staff who may read them).
    reports: bool = False


def _by_status(db: Session, query: Select[str, int], statuses: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(statuses, 0)
    for status, count in db.execute(query):
        counts[status] = counts.get(status, 0) + count
    return counts


def build_dashboard(db: Session, actor: Principal, *, at: datetime) -> Dashboard:
    """The dashboard figures as ``actor`` may see them at ``at``."""
    scope = actor.partner_scope
    may_read_partners = actor.can(Permission.PARTNERS_READ)
    may_read_awards = actor.can(Permission.AWARDS_READ)
    expiring_before = at + EXPIRY_HORIZON
    return Dashboard(
        at=at,
        firm=db.get(Partner, scope) if scope is not None else None,
        partners_by_status=_partners_by_status(db, scope) if may_read_partners else None,
        people=_people_count(db, scope) if actor.can(Permission.PEOPLE_READ) else None,
        certifications=(
            _certifications_count(db) if actor.can(Permission.CERTIFICATIONS_READ) else None
        ),
        awards_by_status=_awards_by_status(db, scope, at) if may_read_awards else None,
        awards_expiring=(
            _awards_expiring(db, scope, at, expiring_before) if may_read_awards else None
        ),
        expiring_before=expiring_before,
        recent_events=_recent_events(db, scope) if actor.can(Permission.EVENTS_READ) else None,
        tiers=_tier_counts(db, at) if may_read_partners and scope is None else None,
        firm_tiers=(
            _firm_tiers(db, scope, at) if may_read_partners and scope is not None else None
        ),
        reports=scope is None and actor.can(Permission.REPORTS_READ),
    )


def _partners_by_status(db: Session, scope: str | None) -> dict[str, int]:
    """Firms per status; a partner user sees only their own firm."""
    query = select(Partner.status, func.count()).group_by(Partner.status)
    if scope is not None:
        query = query.where(Partner.id == scope)
    return _by_status(db, query, [s.value for s in PartnerStatus])


def _people_count(db: Session, scope: str | None) -> int:
    """People on record; a partner user counts only their firm's people."""
    query = select(func.count()).select_from(Person)
    if scope is not None:
        query = query.where(Person.partner_id == scope)
    return db.scalar(query) or 0


def _certifications_count(db: Session) -> int:
    """Certifications that are not retired."""
    query = (
        select(func.count()).select_from(Certification).where(Certification.retired_at.is_(None))
    )
    return db.scalar(query) or 0


def _awards_in_scope(query: _Query, scope: str | None) -> _Query:
    """``query`` over awards confined as the awards service confines a partner user.

    That scope is the awards earned at the firm or held by its current people.
    """
    if scope is None:
        return query
    return query.where(credentials.of_firm(scope))


def _awards_by_status(db: Session, scope: str | None, at: datetime) -> dict[str, int]:
    """Awards per effective status at ``at``, as the awards service reports it.

    A live award past its valid_until is expired even before the worker's sweep has stored that.
    Counted as the stored statuses (from the status index alone), less the live awards past
    their end (a few, from the index of live awards by end date) moved to expired: one
    expression over every award would read every row.
    """
    live = [status.value for status in LIVE_STATUSES]
    stored = _awards_in_scope(select(Award.status, func.count()).group_by(Award.status), scope)
    overdue = _awards_in_scope(
        select(Award.status, func.count())
        .where(Award.status.in_(live), Award.valid_until <= at)
        .group_by(Award.status),
        scope,
    )
    counts = _by_status(db, stored, [s.value for s in AwardStatus])
    for status, count in db.execute(overdue):
        counts[status] -= count
        counts[AwardStatus.EXPIRED.value] += count
    return counts


def _awards_expiring(db: Session, scope: str | None, at: datetime, before: datetime) -> int:
    """Active awards that are still valid at ``at`` and end by ``before``."""
    query = (
        select(func.count())
        .select_from(Award)
        .where(
            Award.status == AwardStatus.ACTIVE.value,
            Award.valid_until > at,
            Award.valid_until <= before,
        )
    )
    return db.scalar(_awards_in_scope(query, scope)) or 0


def _tier_names(db: Session, at: datetime) -> dict[tuple[str, str], tuple[int, str]]:
    """``(program, tier key) -> (rank, name)`` from the schemes in force."""
    return {
        (found.program, tier.key): (tier.rank, tier.name)
        for found in tiers.schemes_in_force(db, at)
        for tier in found.scheme.tiers
    }


def _tier_counts(db: Session, at: datetime) -> list[TierCount]:
    """Firms per tier, highest tier first in each program."""
    names = _tier_names(db, at)
    query = (
        select(FirmTier.program, FirmTier.tier, func.count(), func.count(FirmTier.at_risk_since))
        .where(FirmTier.tier.is_not(None))
        .group_by(FirmTier.program, FirmTier.tier)
    )
    counts = []
    for program, tier, firms, at_risk in db.execute(query):
        key = tier or ""
        rank, name = names.get((program, key), (0, key))
        counts.append((program, -rank, TierCount(program, key, name, firms, at_risk)))
    return [count for *_, count in sorted(counts, key=lambda item: item[:2])]


def _firm_tiers(db: Session, partner_id: str, at: datetime) -> list[FirmTierLine]:
    """The firm's tier in each program where it holds one."""
    names = _tier_names(db, at)
    rows = db.scalars(
        select(FirmTier)
        .where(FirmTier.partner_id == partner_id, FirmTier.tier.is_not(None))
        .order_by(FirmTier.program)
    )
    return [
        FirmTierLine(
            program=row.program,
            name=names.get((row.program, row.tier or ""), (0, row.tier or ""))[1],
            at_risk=row.at_risk_since is not None,
            grace_until=row.grace_until,
            badge_id=row.badge_id,
        )
        for row in rows
    ]


def _recent_events(db: Session, scope: str | None) -> list[RecentEvent]:
    query = (
        select(Event, Partner.name)
        .outerjoin(Partner, Partner.id == Event.partner_id)
        .order_by(Event.seq.desc())
        .limit(RECENT_EVENTS)
    )
    if scope is not None:
        query = query.where(Event.partner_id == scope)
    return [
        RecentEvent(
            seq=event.seq,
            occurred_at=event.occurred_at,
            type=event.type,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            actor_type=event.actor_type,
            partner_name=name,
        )
        for event, name in db.execute(query).all()
    ]
