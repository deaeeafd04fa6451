"""The program's KPI summary: headline figures for a period against the one before it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, select
from sqlalchemy.orm import Session

from charter.core.errors import Invalid
from charter.core.i18n import N_
from charter.core.models import Event
from charter.credentials.enums import AwardStatus, SubjectType
from charter.credentials.models import Award
from charter.licensing.alert_models import LicenseAlert
from charter.licensing.anomalies import Severity
from charter.licensing.models import License
from charter.reports import sql
from charter.reports.certification import TIER_CHANGES, live_at
from charter.reports.models import HeadcountMonth
from charter.reports.schemas import Figure, Summary
from charter.tiers.schemes import schemes_in_force

MAX_PERIOD_DAYS = 3660
TO_BEFORE_FROM = N_("must be on or after from")
PERIOD_TOO_LONG = N_("a period spans at most %(days)s days")
SEVERITY_LABELS = {
    Severity.HIGH.value: N_("high severity"),
    Severity.MEDIUM.value: N_("medium severity"),
    Severity.LOW.value: N_("low severity"),
}


class _Period:
    """A half-open span of time ``[start, end)`` on UTC day boundaries."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.end = end

    def holds(self, column: SQLColumnExpression[datetime]) -> ColumnElement[bool]:
        """Whether ``column`` falls in the period."""
        return and_(column >= sql.instant(self.start), column < sql.instant(self.end))


def _count(db: Session, query: Select[Any]) -> int:
    return int(db.scalar(query) or 0)


def _certified(db: Session, at: datetime) -> int:
    """People holding a live award at ``at``: the worker's count when ``at`` ends a counted
    month (a summary of calendar months reads two stored figures, not every award twice)."""
    counted = db.scalar(select(HeadcountMonth.people).where(HeadcountMonth.at == sql.instant(at)))
    if counted is not None:
        return int(counted)
    return _count(
        db,
        select(func.count(Award.person_id.distinct())).where(
            Award.subject_type == SubjectType.PERSON.value, live_at(sql.instant(at))
        ),
    )


def _new_awards(db: Session, period: _Period) -> int:
    return _count(db, select(func.count(Award.id)).where(period.holds(Award.issued_at)))


def _events(db: Session, period: _Period, kind: str) -> int:
    return _count(
        db,
        select(func.count(Event.seq)).where(Event.type == kind, period.holds(Event.occurred_at)),
    )


def _lapses(db: Session, period: _Period, now: datetime) -> int:
    """Awards whose validity ended in the period (by now) without renewal or revocation."""
    return _count(
        db,
        select(func.count(Award.id)).where(
            period.holds(Award.valid_until),
            Award.valid_until <= sql.instant(now),
            Award.status.in_([AwardStatus.ACTIVE.value, AwardStatus.EXPIRED.value]),
        ),
    )


def _licenses(db: Session, period: _Period) -> int:
    return _count(db, select(func.count(License.id)).where(period.holds(License.created_at)))


def _alerts(db: Session, period: _Period) -> dict[str, int]:
    query = (
        select(LicenseAlert.severity, func.count())
        .where(period.holds(LicenseAlert.opened_at))
        .group_by(LicenseAlert.severity)
    )
    return {severity: int(count) for severity, count in db.execute(query)}


def _tiers_at(db: Session, at: datetime) -> dict[str, int]:
    """Firms per tier at ``at``: each firm's latest tier change before then, from the log."""
    latest = (
        select(
            Event.payload["to_tier"].as_string().label("tier"),
            func.row_number()
            .over(partition_by=Event.partner_id, order_by=Event.seq.desc())
            .label("latest"),
        )
        .where(Event.type.in_(TIER_CHANGES), Event.occurred_at < sql.instant(at))
        .subquery("latest")
    )
    query = (
        select(latest.c.tier, func.count())
        .where(latest.c.latest == 1, latest.c.tier.is_not(None))
        .group_by(latest.c.tier)
    )
    return {str(tier): int(count) for tier, count in db.execute(query)}


def period_of(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants of ``start``'s first moment and the moment after ``end``'s last."""
    if end < start:
        raise Invalid.field("to", TO_BEFORE_FROM)
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise Invalid.field("to", PERIOD_TOO_LONG % {"days": MAX_PERIOD_DAYS})
    first = datetime.combine(start, time(), tzinfo=UTC)
    return first, datetime.combine(end, time(), tzinfo=UTC) + timedelta(days=1)


def summary(db: Session, *, now: datetime, start: date, end: date) -> Summary:
    """The headline figures of ``start`` to ``end`` (inclusive) and of the period before it."""
    first, after = period_of(start, end)
    length = after - first
    current, previous = _Period(first, after), _Period(first - length, first)

    def figure(key: str, label: str, count: Callable[[_Period], int]) -> Figure:
        return Figure(key=key, label=label, current=count(current), previous=count(previous))

    figures = [
        figure(
            "certified_people",
            N_("Certified people at the period's end"),
            lambda p: _certified(db, min(p.end, now)),
        ),
        figure("new_awards", N_("New awards"), lambda p: _new_awards(db, p)),
        figure("renewals", N_("Renewals"), lambda p: _events(db, p, "award.renewed")),
        figure("lapses", N_("Lapses"), lambda p: _lapses(db, p, now)),
        figure("licenses_issued", N_("Licenses issued"), lambda p: _licenses(db, p)),
    ]
    names = {
        tier.key: tier.name for found in schemes_in_force(db, now) for tier in found.scheme.tiers
    }
    held_now, held_before = _tiers_at(db, after), _tiers_at(db, first)
    tiers = [
        Figure(
            key=key,
            label=names.get(key, key),
            current=held_now.get(key, 0),
            previous=held_before.get(key, 0),
        )
        for key in sorted(set(held_now) | set(held_before), key=lambda k: names.get(k, k))
    ]
    opened_now, opened_before = _alerts(db, current), _alerts(db, previous)
    alerts = [
        Figure(
            key=severity,
            label=SEVERITY_LABELS[severity],
            current=opened_now.get(severity, 0),
            previous=opened_before.get(severity, 0),
        )
        for severity in (Severity.HIGH.value, Severity.MEDIUM.value, Severity.LOW.value)
    ]
    figures.append(
        Figure(
            key="alerts_opened",
            label=N_("License alerts opened"),
            current=sum(opened_now.values()),
            previous=sum(opened_before.values()),
        )
    )
    last = after - timedelta(days=1)
    return Summary(
        start=first.date(),
        end=last.date(),
        previous_start=previous.start.date(),
        previous_end=(first - timedelta(days=1)).date(),
        generated_at=now,
        figures=figures,
        tiers=tiers,
        alerts=alerts,
    )
