"""Partner firms and people for tests, built through the partners services.

Defaults are realistic and unique per call; pass keyword overrides for what a test cares about.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.partners import firms, onboarding, people
from charter.partners.enums import OnboardingCheck, PartnerStatus
from charter.partners.models import Partner, Person
from charter.partners.schemas import PartnerCreate, PersonCreate
from charter.tiers import flows
from tests.codes import PartnerType, Region, Track

_counter = itertools.count(1)

_FIRMS = ["Northwind Consulting", "Contoso Systems", "Fabrikam Cloud", "Tailspin Integrations"]
_COUNTRIES = ["DE", "US", "GB", "FR", "JP", "BR"]
_GIVEN = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances"]
_FAMILY = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Ritchie", "Allen"]

# The statuses a firm passes through to reach each status from applicant.
_PATHS: dict[PartnerStatus, list[PartnerStatus]] = {
    PartnerStatus.APPLICANT: [],
    PartnerStatus.ONBOARDING: [PartnerStatus.ONBOARDING],
    PartnerStatus.ACTIVE: [PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE],
    PartnerStatus.SUSPENDED: [
        PartnerStatus.ONBOARDING,
        PartnerStatus.ACTIVE,
        PartnerStatus.SUSPENDED,
    ],
    PartnerStatus.TERMINATED: [PartnerStatus.TERMINATED],
}


def complete_onboarding(db: Session, actor: Principal, partner_id: str) -> None:
    """Mark every onboarding check of a firm done."""
    for check in OnboardingCheck:
        onboarding.set_onboarding_check(
            db, actor, partner_id=partner_id, check=check, done=True, note="checked in tests"
        )


def partner(db: Session, actor: Principal, **overrides: Any) -> Partner:
    """A partner firm; ``status="active"`` (or any status) walks the lifecycle to get there."""
    n = next(_counter)
    status = PartnerStatus(overrides.pop("status", PartnerStatus.APPLICANT))
    name = f"{_FIRMS[n % len(_FIRMS)]} {n}"
    fields: dict[str, Any] = {
        "name": name,
        "type": PartnerType.IMPLEMENTATION,
        "regions": [Region.EMEA],
        "country": _COUNTRIES[n % len(_COUNTRIES)],
        "website": f"https://www.{name.lower().replace(' ', '-')}.example",
        "external_id": f"crm-{uuid.uuid4().hex[:12]}",
    }
    fields.update(overrides)
    firm = firms.create_partner(db, actor, data=PartnerCreate(**fields))
    for step in _PATHS[status]:
        if step is PartnerStatus.ACTIVE:
            complete_onboarding(db, actor, firm.id)
        flows.change_partner_status(
            db, actor, partner_id=firm.id, status=step, reason=f"tests: to {step.value}"
        )
    return firm


def person(db: Session, actor: Principal, *, partner_id: str | None, **overrides: Any) -> Person:
    """A person working at ``partner_id`` (``None``: between jobs) with one unique address."""
    n = next(_counter)
    given = _GIVEN[n % len(_GIVEN)]
    family = _FAMILY[(n // len(_GIVEN)) % len(_FAMILY)]
    fields: dict[str, Any] = {
        "given_name": given,
        "family_name": family,
        "track": Track.TECHNICAL,
        "partner_id": partner_id,
        "emails": [f"{given}.{family}.{n}.{uuid.uuid4().hex[:6]}@example.com".lower()],
        "external_id": None,
    }
    fields.update(overrides)
    return people.create_person(db, actor, data=PersonCreate(**fields))
