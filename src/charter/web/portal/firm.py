"""What a firm's page shows, gathered from the services that own each part.

People (partners), certifications held (credentials, programs), tiers and the at-risk
forecast (tiers), and the firm's history (the events log): each read through its service, so
the caller's permissions and partner scope apply exactly as they do in the API.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from charter.core import eventlog
from charter.core.auth import Permission, Principal
from charter.core.models import Event
from charter.core.pagination import MAX_LIMIT
from charter.credentials import service as credentials
from charter.credentials.enums import AwardStatus
from charter.partners import people as people_service
from charter.partners import service as partners
from charter.partners.enums import OnboardingCheck
from charter.partners.models import Partner, Person
from charter.programs import service as programs
from charter.tiers import forecast, standings
from charter.tiers.schemas import FirmTierOut, ForecastItem

PEOPLE_SHOWN = 100
HISTORY_SHOWN = 50
FORECAST_DAYS = 90
AWARDS_READ_AT_MOST = 5000
"""Awards counted on a firm's page; a firm holding more is summarised by the first ones."""


@dataclass(frozen=True, slots=True)
class HeldCertification:
    """A certification people at the firm (or the firm itself) hold now, and how many."""

    id: str
    code: str
    name: str
    holders: int


@dataclass(frozen=True, slots=True)
class OnboardingLine:
    """One onboarding check and its record."""

    check: str
    done: bool
    at: datetime | None
    by: str | None
    note: str | None


@dataclass(slots=True)
class FirmView:
    """Everything a firm's page shows; ``None`` for a part the viewer may not read."""

    firm: Partner
    people: list[Person] | None = None
    more_people: bool = False
    held: dict[str, list[HeldCertification]] | None = None
    held_truncated: bool = False
    tiers: list[FirmTierOut] | None = None
    forecast: list[ForecastItem] | None = None
    onboarding: list[OnboardingLine] = field(default_factory=list)
    history: list[Event] | None = None
    more_history: bool = False
    may_evaluate: bool = False
    may_edit_listing: bool = False


def _held_by_track(
    db: Session, actor: Principal, partner_id: str
) -> tuple[dict[str, list[HeldCertification]], bool]:
    """Active awards of the firm's people (and the firm) by track, then certification."""
    holders: dict[str, set[str]] = defaultdict(set)
    cursor: str | None = None
    seen = 0
    while True:
        page = credentials.list_awards(
            db,
            actor,
            partner_id=partner_id,
            status=AwardStatus.ACTIVE,
            cursor=cursor,
            limit=MAX_LIMIT,
        )
        for award in page.items:
            holders[award["certification_id"]].add(award["person_id"] or award["partner_id"])
        seen += len(page.items)
        cursor = page.next_cursor
        if cursor is None or seen >= AWARDS_READ_AT_MOST:
            break
    certifications = programs.get_certifications(db, actor, certification_ids=holders)
    by_track: dict[str, list[HeldCertification]] = defaultdict(list)
    for certification_id, who in holders.items():
        found = certifications[certification_id]
        by_track[found.track].append(HeldCertification(found.id, found.code, found.name, len(who)))
    ordered = {
        track: sorted(items, key=lambda item: item.name)
        for track, items in sorted(by_track.items())
    }
    return ordered, cursor is not None


def _onboarding(firm: Partner) -> list[OnboardingLine]:
    record: dict[str, Any] = firm.onboarding or {}
    lines = []
    for check in OnboardingCheck:
        entry = record.get(check.value) or {}
        lines.append(
            OnboardingLine(
                check=check.value,
                done=bool(entry.get("done")),
                at=time_of(entry.get("at")),
                by=entry.get("by"),
                note=entry.get("note"),
            )
        )
    return lines


def firm_view(db: Session, actor: Principal, *, partner_id: str) -> FirmView:
    """A firm's page as ``actor`` may see it; :class:`NotFound` outside their scope."""
    firm = partners.get_partner(db, actor, partner_id=partner_id)
    view = FirmView(firm=firm, onboarding=_onboarding(firm))
    if actor.can(Permission.PEOPLE_READ):
        page = people_service.list_people(db, actor, partner_id=firm.id, limit=PEOPLE_SHOWN)
        view.people = list(page.items)
        view.more_people = page.next_cursor is not None
    if actor.can(Permission.AWARDS_READ) and actor.can(Permission.CERTIFICATIONS_READ):
        view.held, view.held_truncated = _held_by_track(db, actor, firm.id)
    view.tiers = standings.firm_tiers(db, actor, partner_id=firm.id)
    view.forecast = forecast.forecast(db, actor, days=FORECAST_DAYS, partner_id=firm.id)
    if actor.can(Permission.EVENTS_READ):
        found = eventlog.list_events(
            db, actor, subject_id=firm.id, newest_first=True, limit=HISTORY_SHOWN
        )
        view.history = found.items
        view.more_history = found.more
    view.may_evaluate = actor.can(Permission.PARTNERS_LIFECYCLE)
    view.may_edit_listing = actor.can(Permission.PARTNERS_WRITE)
    return view


def time_of(value: datetime | str | None) -> datetime | None:
    """An onboarding record's time (stored as ISO 8601 text) as a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
