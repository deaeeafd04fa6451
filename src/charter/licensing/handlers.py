"""Worker handlers for licensing: registered with :mod:`charter.worker.registry` on import.

Licenses past their term read as expired at once; the hourly task records the change as a
``license.expired`` event, which webhooks and notices follow. Rights follow the partner
(:mod:`charter.licensing.compliance`): the tier engine's events judge a firm's licenses
again, an hourly task lapses those whose grace ended, and a terminated firm's licenses close
to new activations at once and end with their agreement's wind-down period.

Floating seats whose heartbeats stopped are reaped every two minutes (``licensing.reap``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.core.models import Event
from charter.db.engine import settings_of
from charter.licensing import activations, alerts, checks, compliance, service
from charter.partners.models import Person
from charter.worker import registry


@registry.periodic("licensing.expire", timedelta(hours=1))
def expire_licenses(db: Session, actor: Principal, period_start: datetime) -> None:
    """Record the expiry of every active license whose term has ended."""
    service.expire_due_licenses(db, actor)


# --- rights follow the partner ---------------------------------------------------------------

# Events that say a firm's tier standing or certified headcount may have changed: the tier
# engine's own, and those it re-evaluates on (awards, people moving between firms).
STANDING_EVENTS = (
    "tier.*",
    "award.*",
    "person.joined_partner",
    "person.left_partner",
    "agreement.signed",
    # A license issued or renewed while its firm falls short is judged at once.
    "license.issued",
    "license.renewed",
)


def _firms_of(db: Session, event: Event) -> list[str]:
    firms = {event.partner_id} if event.partner_id else set()
    payload = event.payload if isinstance(event.payload, dict) else {}
    person_id = event.subject_id if event.subject_type == "person" else payload.get("person_id")
    if isinstance(person_id, str):
        current = db.scalar(select(Person.partner_id).where(Person.id == person_id))
        if current:
            firms.add(current)
    return sorted(firm for firm in firms if firm)


@registry.on_event("licensing.compliance", *STANDING_EVENTS)
def reassess(db: Session, actor: Principal, event: Event) -> None:
    """Judge the licenses of the firms an event concerns against their agreements again."""
    for partner_id in _firms_of(db, event):
        compliance.reassess_partner(db, actor, partner_id=partner_id)


@registry.periodic("licensing.grace", timedelta(hours=1))
def lapse_licenses(db: Session, actor: Principal, period_start: datetime) -> None:
    """Lapse the licenses whose grace period ended with their firm still short."""
    compliance.lapse_due(db, actor)


@registry.on_event("licensing.wind_down", "partner.terminated")
def wind_down(db: Session, actor: Principal, event: Event) -> None:
    """A terminated firm's licenses take no new activation, and end with the wind-down."""
    partner_id = event.partner_id or event.subject_id
    reason = event.payload.get("reason") if isinstance(event.payload, dict) else None
    compliance.close_activations(
        db, actor, partner_id=partner_id, reason=f"partner terminated: {reason or 'no reason'}"
    )


@registry.periodic("licensing.wind_down_ends", timedelta(hours=1))
def end_wind_downs(db: Session, actor: Principal, period_start: datetime) -> None:
    """Terminate the licenses whose agreement's wind-down period has ended."""
    compliance.end_wind_downs(db, actor)


@registry.periodic("licensing.reap", timedelta(minutes=2))
def reap_activations(db: Session, actor: Principal, period_start: datetime) -> None:
    """Free the floating seats whose heartbeat deadline has passed."""
    activations.reap_dead_activations(db, actor)


# --- anomaly alerts ---------------------------------------------------------------------------


@registry.periodic("licensing.anomalies", timedelta(minutes=15))
def scan_anomalies(db: Session, actor: Principal, period_start: datetime) -> None:
    """Run the anomaly rules over recent validations, activations and usage."""
    alerts.scan(db, actor)


@registry.periodic("licensing.prune_checks", timedelta(hours=6))
def prune_checks(db: Session, actor: Principal, period_start: datetime) -> None:
    """Forget recorded validations older than the retention."""
    days = settings_of(db).license_check_retention_days
    checks.prune(db, before=clock.now() - timedelta(days=days))
