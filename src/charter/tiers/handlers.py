"""Worker handlers for tiers: registered with :mod:`charter.worker.registry` on import.

Every event that can change a firm's tier re-evaluates the firms it concerns; a new tier
scheme re-evaluates every firm; once a day a full sweep also applies grace expiries. Each run
compares with the stored standing, so running a handler twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.core.models import Event
from charter.partners.models import Person
from charter.tiers import directory, forecast, service
from charter.worker import registry

HEADCOUNT_EVERY = timedelta(hours=1)
FORECAST_EVERY = timedelta(hours=1)
"""How often every firm's forecast is worked out again (kept ones hold for a day)."""
"""How often every firm's certified people are counted again for the directory's order."""

# Events that can change the answer for the firm they name (and, for awards and people, the
# firm the person works for now).
FIRM_EVENTS = (
    "award.*",
    "person.joined_partner",
    "person.left_partner",
    "partner.status_changed",
    "partner.onboarding_updated",
    "track_record.recorded",
)


def _firms_of(db: Session, event: Event) -> list[str]:
    firms = {event.partner_id} if event.partner_id else set()
    person_id = event.payload.get("person_id") if isinstance(event.payload, dict) else None
    if event.subject_type == "person":
        person_id = event.subject_id
    if isinstance(person_id, str):
        current = db.scalar(select(Person.partner_id).where(Person.id == person_id))
        if current:
            firms.add(current)
    return sorted(firm for firm in firms if firm)


@registry.on_event("tiers.reevaluate", *FIRM_EVENTS)
def reevaluate(db: Session, actor: Principal, event: Event) -> None:
    """Re-evaluate the firms an event concerns, and recount their certified people."""
    firms = _firms_of(db, event)
    for partner_id in firms:
        service.evaluate_firm(db, actor, partner_id=partner_id)
    directory.recount_headcounts(db, clock.now(), firms)
    # Their kept forecasts may no longer hold: the report replays them until the next count.
    forecast.forget(db, firms)


@registry.on_event("tiers.scheme_changed", "tier_scheme.published")
def scheme_changed(db: Session, actor: Principal, event: Event) -> None:
    """A tier scheme was published: every firm is judged again."""
    service.sweep(db, actor)


@registry.periodic("tiers.sweep", timedelta(days=1))
def nightly_sweep(db: Session, actor: Principal, period_start: datetime) -> None:
    """The full sweep: every firm, every program, grace expiries applied."""
    service.sweep(db, actor)


@registry.periodic("directory.recount_headcounts", HEADCOUNT_EVERY)
def recount_headcounts(db: Session, actor: Principal, period_start: datetime) -> None:
    """Every firm's certified people counted again (awards also lapse by the clock alone)."""
    directory.recount_headcounts(db, clock.now())


@registry.periodic("tiers.count_forecasts", FORECAST_EVERY)
def count_forecasts(db: Session, actor: Principal, period_start: datetime) -> None:
    """When each firm falls below its tier if nobody renews, worked out again for every firm
    (the forecast report replays only the firms this points at)."""
    forecast.count_falls(db, clock.now())
