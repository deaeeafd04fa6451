"""A licensing world: a product, a tier scheme with benefits, and an active firm that signed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from charter.core.auth import Principal
from charter.tiers import schemes
from charter.tiers import service as tiers
from charter.tiers.schemas import SchemeCreate
from tests.licensing.factories import product, sign, template
from tests.partners.factories import partner


@dataclass
class Licensing:
    """Ids of what most licensing tests start from."""

    product: str
    template: str
    firm: str
    agreement: str


def publish_tiers(db, actor: Principal, *, gold_needs: dict | None = None) -> None:
    """Registered (benefit: partner_portal) and Gold (benefit: priority_support)."""
    tiers_ = [
        {
            "key": "registered",
            "name": "Registered",
            "rank": 1,
            "benefits": {"entitlements": ["partner_portal"]},
        },
        {
            "key": "gold",
            "name": "Gold",
            "rank": 2,
            "requirements": gold_needs or {"min_certified_by_track": {"technical": 1}},
            "benefits": {"entitlements": ["priority_support", "analytics"]},
        },
    ]
    schemes.publish_scheme(db, actor, data=SchemeCreate.model_validate({"tiers": tiers_}))


@pytest.fixture
def world(sessions, system, frozen_clock) -> Licensing:
    with sessions() as db, db.begin():
        publish_tiers(db, system)
        firm = partner(db, system, status="active")
        tiers.evaluate_firm(db, system, partner_id=firm.id)
        made = product(db, system)
        offer = template(db, system, product_id=made.id)
        agreement = sign(db, system, partner_id=firm.id, template_id=offer.id)
        return Licensing(made.id, offer.id, firm.id, agreement.id)
