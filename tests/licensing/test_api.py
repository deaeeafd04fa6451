"""The licensing API: the whole path from product to renewed license, 422s naming the field,
partner scope, and keys shown once."""

from __future__ import annotations

import pytest

from charter.core.auth import Role
from tests.licensing.conftest import publish_tiers
from tests.licensing.factories import terms
from tests.partners.factories import partner


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


def test_from_product_to_renewed_license_over_http(client, sessions, system, make, frozen_clock):
    with sessions() as db, db.begin():
        publish_tiers(db, system)
        firm = partner(db, system, status="active")
    manager = make.login(Role.PROGRAM_MANAGER)
    admin = make.login(Role.PARTNER_ADMIN, partner_id=firm.id)
    member = make.login(Role.PARTNER_MEMBER, partner_id=firm.id)

    made = client.post(
        "/api/v1/products",
        json={
            "code": "PLAT",
            "name": "Platform",
            "features": [
                {"key": "analytics", "name": "Analytics"},
                {"key": "api_access", "name": "API"},
            ],
        },
        headers=manager.headers,
    )
    assert made.status_code == 201, made.text
    product_id = made.json()["id"]
    offered = client.post(
        "/api/v1/agreement-templates",
        json={
            "code": "RESELL",
            "name": "Reseller agreement",
            "product_id": product_id,
            "version": {"terms": terms(), "summary": "First edition."},
        },
        headers=manager.headers,
    )
    assert offered.status_code == 201, offered.text
    template_id = offered.json()["id"]
    versions = client.get(
        f"/api/v1/agreement-templates/{template_id}/versions", headers=member.headers
    )
    [first] = versions.json()
    assert first["in_force"] is True
    assert first["terms"]["rights"]["white_label"] is False
    assert first["terms"]["fee"]["amount_per_seat"] == "25.00"

    signed = client.post(
        f"/api/v1/partners/{firm.id}/agreements",
        json={
            "template_id": template_id,
            "signer_name": "Dana Signer",
            "signer_email": "Dana.Signer@Example.com",
            "signer_title": "CEO",
        },
        headers=admin.headers,
    )
    assert signed.status_code == 201, signed.text
    assert signed.json()["version"] == 1
    assert signed.json()["signer_email"] == "dana.signer@example.com"
    assert signed.json()["signed_by"] == admin.principal.id

    issued = client.post(
        "/api/v1/licenses",
        json={"agreement_id": signed.json()["id"], "seats": 25},
        headers={**manager.headers, "Idempotency-Key": "issue-1"},
    )
    assert issued.status_code == 201, issued.text
    license = issued.json()
    key = license["key"]
    assert key.startswith(license["key_prefix"] + "-")
    assert license["entitlements"] == ["analytics", "api_access"]
    replayed = client.post(
        "/api/v1/licenses",
        json={"agreement_id": signed.json()["id"], "seats": 25},
        headers={**manager.headers, "Idempotency-Key": "issue-1"},
    )
    assert replayed.json()["id"] == license["id"]

    shown = client.get(f"/api/v1/licenses/{license['id']}", headers=member.headers)
    assert shown.status_code == 200
    assert "key" not in shown.json()
    assert key not in shown.text
    listed = client.get("/api/v1/licenses", headers=member.headers)
    assert [item["id"] for item in listed.json()["items"]] == [license["id"]]
    assert key not in listed.text

    revealed = client.post(f"/api/v1/licenses/{license['id']}/key", headers=admin.headers)
    assert revealed.json() == {"license_id": license["id"], "key": key}
    refused = client.post(f"/api/v1/licenses/{license['id']}/key", headers=member.headers)
    assert refused.status_code == 403

    base = f"/api/v1/licenses/{license['id']}"
    suspended = client.post(f"{base}/suspend", json={"reason": "unpaid"}, headers=manager.headers)
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["status_reason"] == "unpaid"
    again = client.post(f"{base}/suspend", json={"reason": "unpaid"}, headers=manager.headers)
    assert again.status_code == 409
    reinstated = client.post(f"{base}/reinstate", json={"reason": "paid"}, headers=manager.headers)
    assert reinstated.json()["status"] == "active"
    renewed = client.post(
        f"{base}/renew", json={"valid_until": "2028-06-30T00:00:00Z"}, headers=manager.headers
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["valid_until"].startswith("2028-06-30")
    revoked = client.post(f"{base}/revoke", json={"reason": "breach"}, headers=manager.headers)
    assert revoked.json()["status"] == "revoked"
    assert client.get("/api/v1/licenses?status=revoked", headers=member.headers).json()["items"]
    assert not client.get("/api/v1/licenses?status=active", headers=member.headers).json()["items"]


@pytest.fixture
def catalogue(client, make, frozen_clock):
    manager = make.login(Role.PROGRAM_MANAGER)
    made = client.post(
        "/api/v1/products",
        json={"code": "P1", "name": "P", "features": [{"key": "analytics", "name": "A"}]},
        headers=manager.headers,
    )
    return manager, made.json()["id"]


def test_bad_template_input_names_the_field(client, catalogue):
    manager, product_id = catalogue

    def post(**changes):
        body = {
            "code": "T1",
            "name": "T",
            "product_id": product_id,
            "version": {"terms": terms(features=["analytics"])},
        }
        body["version"]["terms"].update(changes.pop("terms", {}))
        body.update(changes)
        return client.post("/api/v1/agreement-templates", json=body, headers=manager.headers)

    rights = dict(terms()["rights"])
    del rights["sublicense"]
    assert _fields(post(terms={"rights": rights})) == ["version.terms.rights.sublicense"]
    assert _fields(post(terms={"features": ["teleport"]})) == ["version.terms.features.0"]
    assert _fields(post(product_id="prd_NOPE")) == ["product_id"]
    bad_fee = {"model": "flat", "amount": "-1", "currency": "EUR", "period": "year"}
    assert _fields(post(terms={"fee": bad_fee})) == ["version.terms.fee.flat.amount"]
    assert _fields(post(terms={"royalty_percent": "101"})) == ["version.terms.royalty_percent"]
    needs_tier = post(version={"terms": terms(features=[]), "requirements": {"min_tier": "gold"}})
    assert _fields(needs_tier) == ["version.requirements.min_tier"]


def test_bad_product_and_license_input_names_the_field(client, catalogue, sessions, system):
    manager, _ = catalogue
    twice = client.post(
        "/api/v1/products",
        json={
            "code": "P2",
            "name": "P",
            "features": [{"key": "a", "name": "A"}, {"key": "a", "name": "B"}],
        },
        headers=manager.headers,
    )
    assert _fields(twice) == ["features"]
    assert _fields(
        client.post(
            "/api/v1/licenses", json={"agreement_id": "agr_X", "seats": 1}, headers=manager.headers
        )
    ) == ["agreement_id"]
    assert _fields(
        client.post(
            "/api/v1/licenses", json={"agreement_id": "agr_X", "seats": 0}, headers=manager.headers
        )
    ) == ["seats"]
    duplicate = client.post(
        "/api/v1/products", json={"code": "P1", "name": "again"}, headers=manager.headers
    )
    assert duplicate.status_code == 409
    missing = client.get("/api/v1/licenses/lic_NOPE", headers=manager.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_unmet_requirements_are_listed_in_the_problem(client, catalogue, sessions, system, make):
    manager, product_id = catalogue
    with sessions() as db, db.begin():
        publish_tiers(db, system)
        firm = partner(db, system, status="active")
    offered = client.post(
        "/api/v1/agreement-templates",
        json={
            "code": "GOLD",
            "name": "Gold resellers",
            "product_id": product_id,
            "version": {"terms": terms(features=[]), "requirements": {"min_tier": "gold"}},
        },
        headers=manager.headers,
    )
    admin = make.login(Role.PARTNER_ADMIN, partner_id=firm.id)

    refused = client.post(
        f"/api/v1/partners/{firm.id}/agreements",
        json={
            "template_id": offered.json()["id"],
            "signer_name": "Dana",
            "signer_email": "dana@example.com",
        },
        headers=admin.headers,
    )

    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "/problems/requirements-not-met"
    assert refused.json()["unmet"] == ["tier Gold or higher (holds no tier)"]


def test_a_term_at_the_end_of_the_calendar_is_refused(client, sessions, system, make, frozen_clock):
    from tests.licensing.factories import product, sign, template

    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        offer = template(db, system, product_id=product(db, system).id)
        agreement = sign(db, system, partner_id=firm.id, template_id=offer.id)
    manager = make.login(Role.PROGRAM_MANAGER)

    far = client.post(
        "/api/v1/licenses",
        json={"agreement_id": agreement.id, "seats": 1, "valid_until": "9999-12-31T00:00:00Z"},
        headers=manager.headers,
    )

    assert _fields(far) == ["valid_until"]
