"""Licenses for the portal world's Harbor and for another firm: activations (one held for
approval outside the territory), usage past a cap, and an alert each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from charter.core import clock
from charter.core.auth import Principal
from charter.licensing import activations, alerts, usage
from charter.licensing.activations import HeldForApproval
from charter.licensing.anomalies import Finding, Rule, Severity
from charter.licensing.usage_schemas import UsageRecordIn
from charter.partners.enums import PartnerStatus
from tests.licensing.factories import license, product, sign, template, terms
from tests.partners.factories import partner
from tests.web.portal_world import World, build_world

SYSTEM = Principal.system("licensing page tests")


@dataclass(frozen=True)
class Licensed:
    """The world, Harbor's and Lantern's licenses and keys, and the approval Harbor asked for."""

    world: World
    other_id: str
    license_id: str
    key: str
    other_license_id: str
    other_key: str
    customer: str
    request_justification: str


def _metered() -> dict:
    return terms(
        fee={
            "model": "usage",
            "unit": "api_calls",
            "currency": "EUR",
            "tiers": [{"up_to": None, "rate": "0.01"}],
        },
        usage_caps={"api_calls": {"limit": 100, "period": "month", "overage": "allow_and_flag"}},
    )


def _metered() -> dict[str, Any]:
    return terms(
        fee={
            "model": "usage",
            "unit": "api_calls",
            "currency": "EUR",
            "tiers": [{"up_to": None, "rate": "0.01"}],
        },
        usage_caps={"api_calls": {"limit": 100, "period": "month", "overage": "allow_and_flag"}},
    )


def build_licensed(
    sessions: sessionmaker[Session],
    *,
    names: str | None = None,
    product_name: str = "Harbor Suite",
    customer: str = "Klinikum Nord",
    justification: str = "A customer's Tokyo office",
) -> Licensed:
    """Licenses for Harbor and another firm; ``names`` names Harbor, its people and what it
    types (product, customer, justification) alike."""
    if names is not None:
        product_name = customer = justification = names
    world = (
        build_world(sessions)
        if names is None
        else build_world(sessions, harbor_name=names, person_name=names, certification_name=names)
    )
    with sessions() as db, db.begin():
        other_id = partner(db, SYSTEM, name="Lantern Works", status=PartnerStatus.ACTIVE).id
    with sessions() as db, db.begin():
        offer = template(
            db, SYSTEM, product_id=product(db, SYSTEM, name=product_name).id, terms=_metered()
        )
        mine = sign(db, SYSTEM, partner_id=world.harbor_id, template_id=offer.id)
        theirs = sign(db, SYSTEM, partner_id=other_id, template_id=offer.id)
        issued, key = license(db, SYSTEM, agreement_id=mine.id, seats=3)
        other_issued, other_key = license(db, SYSTEM, agreement_id=theirs.id)
    with sessions() as db, db.begin():
        activations.activate(
            db,
            key=key,
            fingerprint="host-0001",
            region="emea",
            country="DE",
            customer_name=customer,
        )
        held = activations.activate(
            db,
            key=key,
            fingerprint="host-0002",
            region="apac",
            country="JP",
            customer_name="Tokyo Clinic",
            justification=justification,
        )
        assert isinstance(held, HeldForApproval)
        activations.activate(
            db,
            key=other_key,
            fingerprint="other-0001",
            region="emea",
            country="FR",
            customer_name="Lantern Secret Customer",
        )
        alerts.raise_alert(
            db,
            SYSTEM,
            license_id=issued.id,
            finding=Finding(Rule.ACTIVATION_BURST, Severity.MEDIUM, {"count": 9}),
            at=clock.now(),
        )
        alerts.raise_alert(
            db,
            SYSTEM,
            license_id=other_issued.id,
            finding=Finding(Rule.SHARING, Severity.HIGH, {"count": 4}),
            at=clock.now(),
        )
    with sessions() as db, db.begin():
        record = UsageRecordIn(
            metric="api_calls", quantity=130, occurred_at=clock.now(), record_id="u-1"
        )
        usage.report_usage(db, usage.license_principal(db, key), records=[record])
    return Licensed(
        world,
        other_id,
        issued.id,
        key,
        other_issued.id,
        other_key,
        customer,
        justification,
    )
