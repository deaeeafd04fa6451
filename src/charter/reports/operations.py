"""Reports on operations: webhook delivery health, and licensing with its approvals and alerts."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from charter.approvals.enums import ApprovalState
from charter.approvals.models import ApprovalRequest
from charter.core.i18n import N_
from charter.licensing.alert_models import LicenseAlert
from charter.licensing.anomalies import Severity
from charter.licensing.enums import ActivationState, LicenseStatus
from charter.licensing.models import License, LicenseActivation, Product
from charter.licensing.usage_models import UsageCapPassed, UsageRollup
from charter.reports import sql
from charter.reports.schemas import Cell, ColumnKind, ReportOut, make_table, percent
from charter.webhooks.enums import DeliveryStatus
from charter.webhooks.models import WebhookDelivery, WebhookEndpoint

TEXT, COUNT, NUMBER, PERCENT, DATE = (
    ColumnKind.TEXT,
    ColumnKind.COUNT,
    ColumnKind.NUMBER,
    ColumnKind.PERCENT,
    ColumnKind.DATE,
)
ALERT_STATES = ("open", "acknowledged", "resolved")
DECIDED_YES = (ApprovalState.APPROVED, ApprovalState.APPLIED, ApprovalState.FAILED)
LICENSING_DESCRIPTION = N_(
    "Licenses by product and status; seats of active licenses and the activations "
    "using them; this month's (%(period)s) metered use and caps passed; approval "
    "requests and the hours to decide them; license alerts by severity and state."
)
"""Carries the report's ``period``: pages translate it as a format (see ``service.FORMATS``)."""


def endpoint_address(url: str) -> str:
    """An endpoint's address without its query or credentials, which may carry secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def webhook_health(db: Session, *, now: datetime) -> ReportOut:
    """Per endpoint: deliveries, how many arrived, failed for good or wait, and the retries."""
    delivered = func.count(
        case((WebhookDelivery.status == DeliveryStatus.DELIVERED.value, WebhookDelivery.id))
    )
    failed = func.count(
        case((WebhookDelivery.status == DeliveryStatus.FAILED.value, WebhookDelivery.id))
    )
    pending = func.count(
        case((WebhookDelivery.status == DeliveryStatus.PENDING.value, WebhookDelivery.id))
    )
    retries = func.coalesce(
        func.sum(case((WebhookDelivery.attempts > 1, WebhookDelivery.attempts - 1), else_=0)), 0
    )
    retried = func.count(case((WebhookDelivery.attempts > 1, WebhookDelivery.id)))
    query = (
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.url,
            WebhookEndpoint.active,
            func.count(WebhookDelivery.id),
            delivered,
            failed,
            pending,
            retries,
            retried,
        )
        .outerjoin(WebhookDelivery, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
        .group_by(WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.active)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    rows: list[dict[str, Cell]] = []
    for endpoint_id, url, active, total, ok, bad, waiting, attempts, again in db.execute(query):
        rows.append(
            {
                "endpoint_id": endpoint_id,
                "url": endpoint_address(url),
                "active": N_("yes") if active else N_("no"),
                "deliveries": total,
                "delivered": ok,
                "failed": bad,
                "pending": waiting,
                "success_rate": percent(ok, ok + bad),
                "retries": int(attempts),
                "retried": again,
            }
        )
    return ReportOut(
        name="webhook-health",
        title=N_("Webhook delivery health"),
        description=N_(
            "Per endpoint: deliveries made, delivered, failed after every retry, still "
            "pending; the success rate of those settled; the retries made, and how many "
            "deliveries needed one."
        ),
        generated_at=now,
        parameters={},
        tables=[
            make_table(
                "endpoints",
                N_("Deliveries per endpoint"),
                [
                    ("endpoint_id", N_("Endpoint"), TEXT),
                    ("url", N_("Address"), TEXT),
                    ("active", N_("Active"), TEXT),
                    ("deliveries", N_("Deliveries"), COUNT),
                    ("delivered", N_("Delivered"), COUNT),
                    ("failed", N_("Failed"), COUNT),
                    ("pending", N_("Pending"), COUNT),
                    ("success_rate", N_("Success rate"), PERCENT),
                    ("retries", N_("Retries"), COUNT),
                    ("retried", N_("Deliveries retried"), COUNT),
                ],
                rows,
            )
        ],
    )


def licensing(db: Session, *, now: datetime) -> ReportOut:
    """Licenses issued, seats in use, usage this month against caps, approvals, alerts."""
    licenses: list[dict[str, Cell]] = [
        {"product": code, "status": status, "licenses": count, "seats": int(seats or 0)}
        for code, status, count, seats in db.execute(
            select(Product.code, License.status, func.count(License.id), func.sum(License.seats))
            .join(Product, Product.id == License.product_id)
            .group_by(Product.code, License.status)
            .order_by(Product.code, License.status)
        )
    ]
    in_use = (
        select(LicenseActivation.license_id, func.count().label("active"))
        .where(LicenseActivation.state == ActivationState.ACTIVE.value)
        .group_by(LicenseActivation.license_id)
        .subquery("in_use")
    )
    seats: list[dict[str, Cell]] = []
    for code, total, used in db.execute(
        select(
            Product.code,
            func.sum(License.seats),
            func.coalesce(func.sum(in_use.c.active), 0),
        )
        .join(Product, Product.id == License.product_id)
        .outerjoin(in_use, in_use.c.license_id == License.id)
        .where(License.status == LicenseStatus.ACTIVE.value)
        .group_by(Product.code)
        .order_by(Product.code)
    ):
        seats.append(
            {
                "product": code,
                "seats": int(total or 0),
                "in_use": int(used),
                "utilization": percent(int(used), int(total or 0)),
            }
        )
    period = sql.month_starts(now, 1)[0]
    passed = (
        select(
            UsageCapPassed.metric,
            func.count().label("passed"),
            func.count(case((UsageCapPassed.overage == "deny", UsageCapPassed.license_id))).label(
                "denied"
            ),
        )
        .where(UsageCapPassed.period >= sql.instant(period))
        .group_by(UsageCapPassed.metric)
        .subquery("passed")
    )
    usage_query = (
        select(
            UsageRollup.metric,
            func.count(UsageRollup.license_id.distinct()),
            func.sum(UsageRollup.total),
        )
        .where(UsageRollup.period == sql.instant(period))
        .group_by(UsageRollup.metric)
        .subquery("used")
    )
    usage: list[dict[str, Cell]] = [
        {
            "metric": metric,
            "licenses": int(reporting or 0),
            "units": int(units or 0),
            "over_cap": int(over or 0),
            "denied": int(denied or 0),
        }
        for metric, reporting, units, over, denied in db.execute(
            select(
                func.coalesce(usage_query.c.metric, passed.c.metric),
                usage_query.c[1],
                usage_query.c[2],
                passed.c.passed,
                passed.c.denied,
            )
            .select_from(usage_query)
            .outerjoin(passed, passed.c.metric == usage_query.c.metric)
            .order_by(usage_query.c.metric)
        )
    ]
    decided = ApprovalRequest.decided_at.is_not(None)
    hours = sql.hours_between(db, ApprovalRequest.decided_at, ApprovalRequest.created_at)
    approvals: list[dict[str, Cell]] = [
        {
            "type": kind,
            "requests": total,
            "approved": yes,
            "rejected": no,
            "pending": waiting,
            "mean_hours": None if mean is None else round(float(mean), 1),
            "max_hours": None if longest is None else round(float(longest), 1),
        }
        for kind, total, yes, no, waiting, mean, longest in db.execute(
            select(
                ApprovalRequest.type,
                func.count(ApprovalRequest.id),
                func.count(case((ApprovalRequest.state.in_(DECIDED_YES), ApprovalRequest.id))),
                func.count(
                    case(
                        (ApprovalRequest.state == ApprovalState.REJECTED.value, ApprovalRequest.id)
                    )
                ),
                func.count(
                    case((ApprovalRequest.state == ApprovalState.PENDING.value, ApprovalRequest.id))
                ),
                func.avg(case((decided, hours))),
                func.max(case((decided, hours))),
            )
            .group_by(ApprovalRequest.type)
            .order_by(ApprovalRequest.type)
        )
    ]
    counted = {
        (severity, state): count
        for severity, state, count in db.execute(
            select(LicenseAlert.severity, LicenseAlert.state, func.count()).group_by(
                LicenseAlert.severity, LicenseAlert.state
            )
        )
    }
    alerts: list[dict[str, Cell]] = []
    for severity in (Severity.HIGH.value, Severity.MEDIUM.value, Severity.LOW.value):
        row: dict[str, Cell] = {"severity": severity}
        for state in ALERT_STATES:
            row[state] = int(counted.get((severity, state), 0))
        alerts.append(row)
    return ReportOut(
        name="licensing",
        title=N_("Licensing"),
        description=LICENSING_DESCRIPTION % {"period": f"{period:%Y-%m}"},
        generated_at=now,
        parameters={"period": f"{period:%Y-%m}"},
        tables=[
            make_table(
                "alerts",
                N_("License alerts by severity"),
                [
                    ("severity", N_("Severity"), TEXT),
                    ("open", N_("Open"), COUNT),
                    ("acknowledged", N_("Acknowledged"), COUNT),
                    ("resolved", N_("Resolved"), COUNT),
                ],
                alerts,
            ),
            make_table(
                "licenses",
                N_("Licenses issued, by product and status"),
                [
                    ("product", N_("Product"), TEXT),
                    ("status", N_("Status"), TEXT),
                    ("licenses", N_("Licenses"), COUNT),
                    ("seats", N_("Seats"), COUNT),
                ],
                licenses,
            ),
            make_table(
                "seats",
                N_("Seat utilization of active licenses"),
                [
                    ("product", N_("Product"), TEXT),
                    ("seats", N_("Seats"), COUNT),
                    ("in_use", N_("Active activations"), COUNT),
                    ("utilization", N_("Utilization"), PERCENT),
                ],
                seats,
            ),
            make_table(
                "usage",
                N_("Usage this month against caps"),
                [
                    ("metric", N_("Metric"), TEXT),
                    ("licenses", N_("Licenses reporting"), COUNT),
                    ("units", N_("Units used"), COUNT),
                    ("over_cap", N_("Caps passed"), COUNT),
                    ("denied", N_("Caps passed that deny use"), COUNT),
                ],
                usage,
            ),
            make_table(
                "approvals",
                N_("Approval requests and turnaround"),
                [
                    ("type", N_("Type"), TEXT),
                    ("requests", N_("Requests"), COUNT),
                    ("approved", N_("Approved"), COUNT),
                    ("rejected", N_("Rejected"), COUNT),
                    ("pending", N_("Pending"), COUNT),
                    ("mean_hours", N_("Mean hours to decide"), NUMBER),
                    ("max_hours", N_("Longest hours to decide"), NUMBER),
                ],
                approvals,
            ),
        ],
    )
