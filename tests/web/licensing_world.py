"""A firm's license for the portal's tests: an agreement with a usage cap, a month of use over
it and an open alert."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from charter.core import clock
from charter.licensing import alerts, metering
from charter.licensing.anomalies import Finding, Rule, Severity
from charter.licensing.usage_models import UsageRollup
from tests.licensing.factories import license, product, sign, template, terms
from tests.web.portal_world import SYSTEM

CAPPED = terms(
    fee={
        "model": "usage",
        "unit": "api_calls",
        "currency": "EUR",
        "tiers": [{"up_to": None, "rate": "0.01"}],
    },
    usage_caps={"api_calls": {"limit": 1000, "period": "month"}},
)


@dataclass(frozen=True)
class Licensed:
    """The ids and key the tests look for."""

    license_id: str
    key: str
    key_prefix: str
    alert_id: str
    template_name: str
    template_id: str


def licensed_firm(
    sessions: sessionmaker[Session], *, partner_id: str, template_name: str | None = None
) -> Licensed:
    """A license of ``partner_id`` with 1,500 api_calls this month (cap 1,000) and an alert."""
    with sessions() as db, db.begin():
        offer = template(
            db,
            SYSTEM,
            product_id=product(db, SYSTEM).id,
            terms=CAPPED,
            **({"name": template_name} if template_name else {}),
        )
        agreement = sign(db, SYSTEM, partner_id=partner_id, template_id=offer.id)
        issued, key = license(db, SYSTEM, agreement_id=agreement.id)
        now = clock.now()
        db.add(
            UsageRollup(
                license_id=issued.id,
                metric="api_calls",
                period=metering.month_start(now),
                total=1500,
            )
        )
        alert = alerts.raise_alert(
            db,
            SYSTEM,
            license_id=issued.id,
            finding=Finding(Rule.SHARING, Severity.HIGH, {"machines": 25}),
            at=now,
        )
        return Licensed(issued.id, key, issued.key_prefix, alert.id, offer.name, offer.id)
