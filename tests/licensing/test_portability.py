"""Portability checkpoints, on SQLite and PostgreSQL: an activation in an embargoed place is
refused at once; one outside the license's territory takes no seat and asks a governance owner,
whose approval extends the territory, after which the deployment activates and validates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from charter.approvals import registry
from charter.approvals.models import ApprovalRequest
from charter.core.auth import Role
from charter.core.models import Event
from charter.licensing import portability
from charter.licensing.models import License, LicenseActivation, Product
from tests.licensing.conftest import Licensing
from tests.licensing.factories import license, sign, template, terms

ACTIVATE = "/api/v1/licenses/activate"
VALIDATE = "/api/v1/licenses/validate"
API = "/api/v1"


@pytest.fixture
def wide(sessions, system, world: Licensing) -> Licensing:
    """A firm whose agreement covers EMEA and North America (DE, FR, US)."""
    territory = {"regions": ["emea", "na"], "countries": ["DE", "FR", "US"]}
    with sessions() as db, db.begin():
        offer = template(db, system, product_id=world.product, terms=terms(territory=territory))
        agreement = sign(db, system, partner_id=world.firm, template_id=offer.id)
        return Licensing(world.product, offer.id, world.firm, agreement.id)


def _issue(sessions, system, world: Licensing, **fields) -> tuple[str, str, str]:
    """A license of EMEA (DE, FR) under the world's agreement: its id, key and product code."""
    fields = {"regions": ["emea"], "countries": ["DE", "FR"], **fields}
    with sessions() as db, db.begin():
        issued, key = license(db, system, agreement_id=world.agreement, seats=3, **fields)
        return issued.id, key, db.get(Product, world.product).code


def _deployment(key: str, fingerprint: str = "box-0001-fingerprint", **extra) -> dict:
    return {
        "key": key,
        "fingerprint": fingerprint,
        "region": "emea",
        "customer_name": "Acme Hospital",
        **extra,
    }


def _validate(client, key: str, product: str, **fields) -> dict:
    body = {"key": key, "product": product, "nonce": "n-0123456789", **fields}
    response = client.post(VALIDATE, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _count(sessions, model, *where) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def _events(sessions, type: str) -> list[Event]:
    with sessions() as db:
        return list(db.scalars(select(Event).where(Event.type == type).order_by(Event.seq)))


def _request(sessions, approval_id: str) -> ApprovalRequest:
    with sessions() as db:
        return db.get(ApprovalRequest, approval_id)


def test_an_embargoed_place_is_refused_at_once_and_nothing_is_stored(
    client, sessions, system, world, frozen_clock
):
    license_id, key, product = _issue(sessions, system, world)

    for place in ({"country": "IR"}, {"country": "UA-43"}, {"region": "na", "country": "KP"}):
        refused = client.post(ACTIVATE, json=_deployment(key) | place)

        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "EMBARGOED_REGION"
        checked = _validate(client, key, product, **place)
        assert (checked["valid"], checked["code"]) == (False, "EMBARGOED_REGION")
    assert _count(sessions, LicenseActivation, LicenseActivation.license_id == license_id) == 0
    assert _count(sessions, ApprovalRequest) == 0
    assert _events(sessions, "license.activated") == []
    assert _events(sessions, "approval.requested") == []
    # A subdivision that is not embargoed is a place like any other, stored as given.
    allowed = client.post(ACTIVATE, json=_deployment(key, country="DE-BY"))
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["country"] == "DE-BY"


def test_an_uncovered_place_goes_through_approval_end_to_end(
    client, sessions, system, wide, make, frozen_clock
):
    owners = [make.login(Role.GOVERNANCE_OWNER), make.login(Role.GOVERNANCE_OWNER)]
    license_id, key, product = _issue(sessions, system, wide)
    place = {"region": "na", "country": "US"}

    held = client.post(ACTIVATE, json=_deployment(key, **place))

    assert held.status_code == 202, held.text
    answer = held.json()
    assert answer["code"] == "PENDING_APPROVAL"
    assert answer["license_id"] == license_id
    approval_id = answer["approval_id"]
    assert approval_id.startswith("apr_")
    assert _count(sessions, LicenseActivation) == 0
    request = _request(sessions, approval_id)
    assert request.type == "license.territory"
    assert (request.subject_type, request.subject_id) == ("license", license_id)
    assert request.partner_id == wide.firm
    assert (request.requested_by_type, request.requester_name) == ("system", "licensed-software")
    assert "Acme Hospital" in request.justification
    assert "na (US)" in request.justification
    assert request.proposed_change == {"add_regions": ["na"], "add_countries": ["US"]}
    [asked] = _events(sessions, "approval.requested")
    assert asked.payload["routed_to"] == sorted(owner.user.id for owner in owners)
    # The software retrying reuses the request; another place waits for its decision.
    again = client.post(ACTIVATE, json=_deployment(key, "box-0002-fingerprint", **place))
    assert again.status_code == 202, again.text
    assert again.json()["approval_id"] == approval_id
    elsewhere = client.post(ACTIVATE, json=_deployment(key, region="apac"))
    assert elsewhere.status_code == 409, elsewhere.text
    assert elsewhere.json()["code"] == "TERRITORY_REQUEST_PENDING"
    assert elsewhere.json()["approval_id"] == approval_id
    assert _count(sessions, ApprovalRequest) == 1
    pending = _validate(client, key, product, **place)
    assert (pending["valid"], pending["code"]) == (False, "PENDING_APPROVAL")
    assert _validate(client, key, product, region="apac")["code"] == "REGION_NOT_PERMITTED"

    approved = client.post(
        f"{API}/approvals/{approval_id}/approve",
        json={"reason": "Acme's US site is covered by our agreement."},
        headers=owners[0].headers,
    )

    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "applied"
    assert approved.json()["result"]["added_regions"] == ["na"]
    assert approved.json()["result"]["added_countries"] == ["US"]
    with sessions() as db:
        extended = db.get(License, license_id)
        assert (extended.regions, extended.countries) == (["emea", "na"], ["DE", "FR", "US"])
    [event] = _events(sessions, "license.territory_extended")
    assert event.subject_id == license_id
    assert event.payload["approval_id"] == approval_id
    activated = client.post(ACTIVATE, json=_deployment(key, **place))
    assert activated.status_code == 201, activated.text
    assert activated.json()["region"] == "na"
    valid = _validate(client, key, product, fingerprint="box-0001-fingerprint", **place)
    assert (valid["valid"], valid["code"]) == (True, "VALID")


def test_a_rejection_leaves_the_place_not_permitted(
    client, sessions, system, wide, make, frozen_clock
):
    owner = make.login(Role.GOVERNANCE_OWNER)
    license_id, key, product = _issue(sessions, system, wide)
    justification = "Acme opens a clinic in Boston next month."
    held = client.post(ACTIVATE, json=_deployment(key, region="na", justification=justification))
    approval_id = held.json()["approval_id"]
    assert _request(sessions, approval_id).justification == justification

    rejected = client.post(
        f"{API}/approvals/{approval_id}/reject",
        json={"reason": "Not before the US agreement is renegotiated."},
        headers=owner.headers,
    )

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"
    refused = _validate(client, key, product, region="na")
    assert (refused["valid"], refused["code"]) == (False, "REGION_NOT_PERMITTED")
    # The software retrying does not ask again: the place stays refused.
    again = client.post(ACTIVATE, json=_deployment(key, region="na"))
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "REGION_NOT_PERMITTED"
    assert "renegotiated" in again.json()["detail"]
    assert _count(sessions, ApprovalRequest) == 1
    assert _count(sessions, LicenseActivation) == 0
    with sessions() as db:
        assert db.get(License, license_id).regions == ["emea"]
    # The firm may ask again itself, saying what changed; only for its own licenses.
    admin = make.login(Role.PARTNER_ADMIN, partner_id=wide.firm)
    ask = {
        "type": "license.territory",
        "subject_type": "license",
        "subject_id": license_id,
        "partner_id": wide.firm,
        "justification": "The US agreement was renegotiated.",
        "proposed_change": {"add_regions": ["na"]},
    }
    asked = client.post(f"{API}/approvals", json=ask, headers=admin.headers)
    assert asked.status_code == 201, asked.text
    stranger = client.post(
        f"{API}/approvals", json=ask | {"subject_id": "lic_nothere"}, headers=admin.headers
    )
    assert stranger.status_code == 422, stranger.text
    assert [error["field"] for error in stranger.json()["errors"]] == ["subject_id"]


def test_a_place_the_agreement_does_not_cover_either_fails_with_the_reason(
    client, sessions, system, world, make, frozen_clock
):
    owner = make.login(Role.GOVERNANCE_OWNER)
    license_id, key, product = _issue(sessions, system, world)
    approval_id = client.post(ACTIVATE, json=_deployment(key, region="na")).json()["approval_id"]

    decided = client.post(f"{API}/approvals/{approval_id}/approve", json={}, headers=owner.headers)

    assert decided.status_code == 200, decided.text
    failed = decided.json()
    assert failed["state"] == "failed"
    assert "agreement does not cover na" in failed["error"]
    assert failed["result"]["problem"]["code"] == "OUTSIDE_AGREEMENT"
    with sessions() as db:
        assert db.get(License, license_id).regions == ["emea"]
    assert _events(sessions, "license.territory_extended") == []
    assert _validate(client, key, product, region="na")["code"] == "REGION_NOT_PERMITTED"


def test_the_territory_type_is_registered_with_an_sla():
    assert registry.find_type(portability.TYPE).sla == portability.SLA
