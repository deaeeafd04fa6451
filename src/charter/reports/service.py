"""The program reports by name, and the KPI summary: vendor staff's, checked here once.

Partner users are told a report does not exist, as for another firm's records: the figures
span every firm. Each report is one function of its module, computing in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.errors import Invalid, NotFound
from charter.core.i18n import N_
from charter.reports import certification, operations, standing
from charter.reports import summary as kpi
from charter.reports.schemas import ReportOut, Summary
from charter.tiers.forecast import FORECAST_HORIZONS

MONTHS_CHOICES = range(1, 37)
DAYS_CHOICES = ", ".join(map(str, FORECAST_HORIZONS))
MONTHS_OUT_OF_RANGE = N_("must be from 1 to 36")
DAYS_NOT_OFFERED = N_("must be one of %(days)s")


@dataclass(frozen=True, slots=True)
class Options:
    """The parameters a report may take; each report reads the ones it knows."""

    months: int = 12
    days: int = 90


@dataclass(frozen=True, slots=True)
class ReportKind:
    """One report: its name and title, what it takes, and how it is made."""

    name: str
    title: str
    summary: str
    make: Callable[[Session, Principal, Options], ReportOut]
    takes_months: bool = False
    takes_days: bool = False


REPORTS: tuple[ReportKind, ...] = (
    ReportKind(
        "certified-headcount",
        N_("Certified headcount"),
        N_("Certified people each month, by firm tier, region and track."),
        lambda db, _, o: certification.certified_headcount(db, now=clock.now(), months=o.months),
        takes_months=True,
    ),
    ReportKind(
        "time-to-certify",
        N_("Time to certify"),
        N_("Days from first assessment to award: median and quartiles per certification."),
        lambda db, _, o: certification.time_to_certify(db, now=clock.now()),
    ),
    ReportKind(
        "renewals",
        N_("Renewal and lapse rates"),
        N_("Validity periods that came due per certification, renewed or lapsed."),
        lambda db, _, o: certification.renewals(db, now=clock.now()),
    ),
    ReportKind(
        "expiry-timeline",
        N_("Expiry timeline"),
        N_("Awards expiring in each of the next 13 weeks (90 days)."),
        lambda db, _, o: certification.expiry_timeline(db, now=clock.now()),
    ),
    ReportKind(
        "firms-at-risk",
        N_("Firms at risk"),
        N_("Firms in grace or falling below their tier, and the renewals that would save them."),
        lambda db, actor, o: standing.firms_at_risk(db, actor, now=clock.now(), days=o.days),
        takes_days=True,
    ),
    ReportKind(
        "tier-movements",
        N_("Tier movements"),
        N_("Upgrades, downgrades, firms put at risk and recovered, per month."),
        lambda db, _, o: standing.tier_movements(db, now=clock.now(), months=o.months),
        takes_months=True,
    ),
    ReportKind(
        "criteria-impact",
        N_("Criteria change impact"),
        N_("People affected by each new criteria version."),
        lambda db, _, o: certification.criteria_impact(db, now=clock.now()),
    ),
    ReportKind(
        "webhook-health",
        N_("Webhook delivery health"),
        N_("Success rate, failures and retries per webhook endpoint."),
        lambda db, _, o: operations.webhook_health(db, now=clock.now()),
    ),
    ReportKind(
        "licensing",
        N_("Licensing"),
        N_("Licenses, seat utilization, usage against caps, approvals turnaround, alerts."),
        lambda db, _, o: operations.licensing(db, now=clock.now()),
    ),
)
BY_NAME = {kind.name: kind for kind in REPORTS}

# The reports' text is English, as the API and CSV serve it, and marked for the pages'
# catalogue where it is defined (N_); a page shows it in its reader's language.
FORMATS: tuple[str, ...] = (
    standing.AT_RISK_DESCRIPTION,
    standing.FALL_BELOW_WITHIN,
    operations.LICENSING_DESCRIPTION,
)
"""Texts filled with a report's own parameters (``days``, ``period``): a page translates them
as formats, then fills them with the report's ``parameters``."""
LABEL_CELLS: dict[str, frozenset[str]] = {
    "state": frozenset({standing.AT_RISK_NOW, standing.FALLS_BELOW}),
    "in_force": frozenset({N_("yes"), N_("not yet")}),
    "active": frozenset({N_("yes"), N_("no")}),
    "tier": frozenset({certification.NO_TIER}),
    "region": frozenset({certification.NO_REGION}),
    "severity": frozenset({N_("high"), N_("medium"), N_("low")}),
}
"""Per column, the cells that are labels rather than data: a page translates those."""
ERROR_FORMATS: tuple[tuple[str, dict[str, object]], ...] = (
    (DAYS_NOT_OFFERED, {"days": DAYS_CHOICES}),
    (kpi.PERIOD_TOO_LONG, {"days": kpi.MAX_PERIOD_DAYS}),
)
"""Errors' texts carrying values, with their values: a page translates them as formats."""


def _gate(actor: Principal) -> None:
    """Vendor staff with ``reports:read``; partner users learn nothing exists."""
    if actor.partner_scope is not None:
        raise NotFound("report not found")
    actor.require(Permission.REPORTS_READ)


def list_reports(actor: Principal) -> tuple[ReportKind, ...]:
    """The reports ``actor`` may read."""
    _gate(actor)
    return REPORTS


def report_kind(actor: Principal, name: str) -> ReportKind:
    """The report named ``name``; :class:`NotFound` for another name."""
    _gate(actor)
    kind = BY_NAME.get(name)
    if kind is None:
        raise NotFound(f"no report is named {name[:60]!r}")
    return kind


def run_report(
    db: Session, actor: Principal, *, name: str, months: int | None = None, days: int | None = None
) -> ReportOut:
    """The report ``name`` computed now; ``months`` and ``days`` where it takes them."""
    kind = report_kind(actor, name)
    options = Options()
    if months is not None:
        if months not in MONTHS_CHOICES:
            raise Invalid.field("months", MONTHS_OUT_OF_RANGE)
        options = Options(months=months, days=options.days)
    if days is not None:
        if days not in FORECAST_HORIZONS:
            raise Invalid.field("days", DAYS_NOT_OFFERED % {"days": DAYS_CHOICES})
        options = Options(months=options.months, days=days)
    return kind.make(db, actor, options)


def program_summary(db: Session, actor: Principal, *, start: date, end: date) -> Summary:
    """The KPI summary of ``start`` to ``end`` against the previous period of the same length."""
    _gate(actor)
    return kpi.summary(db, now=clock.now(), start=start, end=end)
