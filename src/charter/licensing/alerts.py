"""License anomaly alerts: the worker's scan opens them, managers acknowledge and resolve them.

:func:`scan` gathers each rule's inputs (recorded validations, activations, usage) in a few
grouped queries and runs the pure rules of :mod:`charter.licensing.anomalies`; a finding
opens an alert, or updates the license's live alert of that rule (open or acknowledged) with
the new evidence, so one anomaly is one alert however often it is seen. Opening,
acknowledging and resolving append ``license.alert_opened``, ``license.alert_acknowledged``
and ``license.alert_resolved``, which webhooks deliver.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, NotFound
from charter.core.ids import is_id, new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate
from charter.core.text import text_filter
from charter.db.engine import settings_of
from charter.licensing import anomalies
from charter.licensing.alert_models import LicenseAlert, LicenseCheck
from charter.licensing.anomalies import Check, Finding, Place, Severity, Thresholds
from charter.licensing.models import License, LicenseActivation
from charter.licensing.usage_models import UsageRecord

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
STATES = (OPEN, ACKNOWLEDGED, RESOLVED)
_RANK = {Severity.LOW.value: 0, Severity.MEDIUM.value: 1, Severity.HIGH.value: 2}
ROWS = 10_000
"""Rows of detail a rule reads a scan at most (aggregates bound the rest)."""


def thresholds(settings: Settings) -> Thresholds:
    """The rules' limits from the settings."""
    return Thresholds(
        sharing_multiple=settings.license_alert_sharing_multiple,
        burst_multiple=settings.license_alert_burst_multiple,
        spike_k=settings.license_alert_spike_k,
        spike_min_history=settings.license_alert_spike_min_history,
    )


# --- scanning ---------------------------------------------------------------------------------


def scan(db: Session, actor: Principal, *, at: datetime | None = None) -> list[LicenseAlert]:
    """Run every rule over recent data; returns the alerts opened or updated."""
    at = at or clock.now()
    settings = settings_of(db)
    limits = thresholds(settings)
    findings: list[tuple[str, Finding]] = []
    findings += _sharing(db, at - timedelta(hours=settings.license_alert_sharing_hours), limits)
    findings += _bursts(db, at - timedelta(minutes=settings.license_alert_burst_minutes), limits)
    since = at - timedelta(hours=settings.license_alert_sharing_hours)
    findings += _territory(db, since)
    findings += _after_revocation(db, since)
    findings += _usage(db, limits)
    return [raise_alert(db, actor, license_id=lid, finding=f, at=at) for lid, f in findings]


def _seats(db: Session, license_ids: Sequence[str]) -> dict[str, int]:
    if not license_ids:
        return {}
    rows = db.execute(select(License.id, License.seats).where(License.id.in_(license_ids)))
    return {row[0]: row[1] for row in rows}


def _sharing(db: Session, since: datetime, limits: Thresholds) -> list[tuple[str, Finding]]:
    counts = db.execute(
        select(
            LicenseCheck.license_id,
            func.count(func.distinct(LicenseCheck.fingerprint)),
            func.count(func.distinct(LicenseCheck.address)),
        )
        .where(LicenseCheck.checked_at >= since)
        .group_by(LicenseCheck.license_id)
    ).all()
    seats = _seats(db, [row[0] for row in counts])
    found = []
    for license_id, machines, addresses in counts:
        if license_id not in seats:
            continue
        limit = max(
            limits.sharing_minimum, int(max(seats[license_id], 1) * limits.sharing_multiple)
        )
        if max(machines, addresses) <= limit:
            continue
        recent = LicenseCheck.license_id == license_id, LicenseCheck.checked_at >= since
        fingerprints = db.scalars(
            select(LicenseCheck.fingerprint)
            .where(*recent, LicenseCheck.fingerprint.is_not(None))
            .distinct()
            .limit(ROWS)
        )
        places = db.scalars(select(LicenseCheck.address).where(*recent).distinct().limit(ROWS))
        finding = anomalies.sharing(
            seats=seats[license_id],
            fingerprints=[f for f in fingerprints if f],
            addresses=list(places),
            thresholds=limits,
        )
        if finding is not None:
            found.append((license_id, finding))
    return found


def _bursts(db: Session, since: datetime, limits: Thresholds) -> list[tuple[str, Finding]]:
    rows = db.execute(
        select(LicenseActivation.license_id, LicenseActivation.activated_at)
        .where(LicenseActivation.activated_at >= since)
        .limit(ROWS)
    ).all()
    by_license: dict[str, list[datetime]] = defaultdict(list)
    for license_id, activated_at in rows:
        by_license[license_id].append(activated_at)
    seats = _seats(db, sorted(by_license))
    found = []
    for license_id, times in sorted(by_license.items()):
        finding = anomalies.activation_burst(
            seats=seats.get(license_id, 1), activated_at=times, thresholds=limits
        )
        if finding is not None:
            found.append((license_id, finding))
    return found


def _check(row: Any) -> Check:
    return Check(row.address, row.fingerprint, row.region, row.country, row.code, row.checked_at)


def _territory(db: Session, since: datetime) -> list[tuple[str, Finding]]:
    checks = db.scalars(
        select(LicenseCheck)
        .where(
            LicenseCheck.checked_at >= since,
            LicenseCheck.code.in_(sorted(anomalies.OUTSIDE_CODES)),
        )
        .limit(ROWS)
    ).all()
    deployments = db.execute(
        select(LicenseActivation.license_id, LicenseActivation.region, LicenseActivation.country)
        .where(LicenseActivation.activated_at >= since)
        .limit(ROWS)
    ).all()
    by_license: dict[str, tuple[list[Check], list[Place]]] = defaultdict(lambda: ([], []))
    for check in checks:
        by_license[check.license_id][0].append(_check(check))
    for license_id, region, country in deployments:
        by_license[license_id][1].append(Place(region, country))
    if not by_license:
        return []
    territory = {
        license_id: (frozenset(regions), frozenset(countries))
        for license_id, regions, countries in db.execute(
            select(License.id, License.regions, License.countries).where(
                License.id.in_(sorted(by_license))
            )
        )
    }
    found = []
    for license_id, (seen, placed) in sorted(by_license.items()):
        if license_id not in territory:
            continue
        regions, countries = territory[license_id]
        finding = anomalies.out_of_territory(
            checks=seen, activations=placed, regions=regions, countries=countries
        )
        if finding is not None:
            found.append((license_id, finding))
    return found


def _after_revocation(db: Session, since: datetime) -> list[tuple[str, Finding]]:
    rows = db.execute(
        select(License.id, License.status, License.status_changed_at, LicenseCheck)
        .join(LicenseCheck, LicenseCheck.license_id == License.id)
        .where(
            License.status.in_(["revoked", "terminated"]),
            LicenseCheck.checked_at >= since,
            LicenseCheck.checked_at > License.status_changed_at,
        )
        .limit(ROWS)
    ).all()
    by_license: dict[str, tuple[str, datetime | None, list[Check]]] = {}
    for license_id, status, changed_at, check in rows:
        by_license.setdefault(license_id, (status, changed_at, []))[2].append(_check(check))
    found = []
    for license_id, (status, changed_at, seen) in sorted(by_license.items()):
        finding = anomalies.use_after_revocation(status=status, revoked_at=changed_at, checks=seen)
        if finding is not None:
            found.append((license_id, finding))
    return found


# --- usage ------------------------------------------------------------------------------------


def usage_by_period(
    db: Session, license_id: str, metric: str, *, periods: int = 24
) -> list[tuple[str, float]]:
    """A license's usage of ``metric`` per calendar day (``YYYY-MM-DD``, oldest first), over
    its latest ``periods`` days with usage (from its latest ``ROWS`` records)."""
    rows = db.execute(
        select(UsageRecord.occurred_at, UsageRecord.quantity)
        .where(UsageRecord.license_id == license_id, UsageRecord.metric == metric)
        .order_by(UsageRecord.occurred_at.desc())
        .limit(ROWS)
    ).all()
    totals: dict[str, float] = defaultdict(float)
    for occurred_at, quantity in rows:
        totals[occurred_at.date().isoformat()] += float(quantity)
    return sorted(totals.items())[-periods:]


def _usage(db: Session, limits: Thresholds) -> list[tuple[str, Finding]]:
    # A spike is in the latest day: only the licenses and metrics used in the last two.
    recent = clock.now() - timedelta(days=2)
    pairs = db.execute(
        select(UsageRecord.license_id, UsageRecord.metric)
        .where(UsageRecord.occurred_at >= recent)
        .distinct()
    ).all()
    found = []
    for license_id, metric in pairs:
        finding = anomalies.usage_spike(
            series=usage_by_period(db, license_id, metric), thresholds=limits
        )
        if finding is not None:
            evidence = {"metric": metric, **finding.evidence}
            found.append((license_id, Finding(finding.rule, finding.severity, evidence)))
    return found


# --- alerts -----------------------------------------------------------------------------------


def raise_alert(
    db: Session, actor: Principal, *, license_id: str, finding: Finding, at: datetime
) -> LicenseAlert:
    """Open an alert for ``finding``, or give the license's live alert of that rule the new
    evidence (its severity only ever rises)."""
    live = db.scalar(
        select(LicenseAlert)
        .where(
            LicenseAlert.license_id == license_id,
            LicenseAlert.rule == finding.rule.value,
            LicenseAlert.state != RESOLVED,
        )
        .with_for_update()
    )
    if live is not None:
        live.evidence = finding.evidence
        live.seen_at = at
        if _RANK[finding.severity.value] > _RANK[live.severity]:
            live.severity = finding.severity.value
        db.flush()
        return live
    license = db.get(License, license_id)
    if license is None:
        raise NotFound(f"license {license_id} not found")
    alert = LicenseAlert(
        id=new_id("alr"),
        license_id=license_id,
        partner_id=license.partner_id,
        rule=finding.rule.value,
        severity=finding.severity.value,
        evidence=finding.evidence,
        state=OPEN,
        opened_at=at,
        seen_at=at,
    )
    db.add(alert)
    db.flush()
    events.append(
        db,
        actor,
        "license.alert_opened",
        alert,
        partner_id=alert.partner_id,
        license_id=license_id,
        rule=alert.rule,
        severity=alert.severity,
        evidence=alert.evidence,
    )
    return alert


def _alert(db: Session, actor: Principal, alert_id: str, *, lock: bool = False) -> LicenseAlert:
    found = None
    if is_id(alert_id, "alr"):
        query = select(LicenseAlert).where(LicenseAlert.id == alert_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        found = db.scalar(query)
    if found is None or (
        actor.partner_scope is not None and found.partner_id != actor.partner_scope
    ):
        raise NotFound(f"license alert {alert_id} not found")
    return found


def get_alert(db: Session, actor: Principal, *, alert_id: str) -> LicenseAlert:
    """One alert; partner users see their own firm's only."""
    actor.require(Permission.LICENSES_READ)
    return _alert(db, actor, alert_id)


def list_alerts(
    db: Session,
    actor: Principal,
    *,
    state: str | None = None,
    severity: str | None = None,
    rule: str | None = None,
    license_id: str | None = None,
    partner_id: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[LicenseAlert]:
    """Alerts, oldest first, filtered; partner users see their own firm's only."""
    actor.require(Permission.LICENSES_READ)
    check_cursor(cursor)
    license_id = text_filter(license_id, "license_id")
    partner_id = text_filter(partner_id, "partner_id")
    scope = actor.partner_scope
    if scope is not None and partner_id is not None and partner_id != scope:
        return Page([], None)
    query = select(LicenseAlert)
    firm = scope or partner_id
    if firm is not None:
        query = query.where(LicenseAlert.partner_id == firm)
    for column, value in (
        (LicenseAlert.state, state),
        (LicenseAlert.severity, severity),
        (LicenseAlert.rule, rule),
        (LicenseAlert.license_id, license_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return paginate(db, query, LicenseAlert.id, cursor=cursor, limit=limit)


def acknowledge_alert(
    db: Session, actor: Principal, *, alert_id: str, note: str | None = None
) -> LicenseAlert:
    """Say someone is looking into an open alert."""
    actor.require(Permission.LICENSES_MANAGE)
    alert = _alert(db, actor, alert_id, lock=True)
    if alert.state != OPEN:
        raise Conflict(f"the alert is {alert.state}, not open")
    alert.state = ACKNOWLEDGED
    alert.acknowledged_by = actor.user_id or actor.id
    alert.acknowledged_at = clock.now()
    if note:
        alert.note = note
    db.flush()
    events.append(
        db,
        actor,
        "license.alert_acknowledged",
        alert,
        partner_id=alert.partner_id,
        license_id=alert.license_id,
        rule=alert.rule,
        note=note or None,
    )
    return alert


def resolve_alert(db: Session, actor: Principal, *, alert_id: str, note: str) -> LicenseAlert:
    """Close an open or acknowledged alert, saying how; the rule may open a new one later."""
    actor.require(Permission.LICENSES_MANAGE)
    alert = _alert(db, actor, alert_id, lock=True)
    if alert.state == RESOLVED:
        raise Conflict("the alert is resolved already")
    alert.state = RESOLVED
    alert.resolved_by = actor.user_id or actor.id
    alert.resolved_at = clock.now()
    alert.note = note
    db.flush()
    events.append(
        db,
        actor,
        "license.alert_resolved",
        alert,
        partner_id=alert.partner_id,
        license_id=alert.license_id,
        rule=alert.rule,
        note=note,
    )
    return alert
