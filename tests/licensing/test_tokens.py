"""Offline license tokens: who may have one, what it carries, how long it lives, and that
`jose` (Node) verifies it with the served JWKS alone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from charter.core import clock
from charter.core.auth import Role
from charter.crypto import tokens
from charter.licensing import service
from charter.licensing.models import Product
from tests.interop.conftest import node_verify_token
from tests.licensing.factories import license
from tests.partners.factories import partner

TYP = "license+jwt"
ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def issued(world, sessions, system):
    """An active license of the world's product; its id and the product's code."""
    with sessions() as db, db.begin():
        made, _ = license(db, system, agreement_id=world.agreement, seats=25)
        return made.id, db.get(Product, made.product_id).code


def _served_jwks(client) -> dict:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_a_reader_gets_a_token_that_restates_the_license(client, make, issued, world):
    license_id, product_code = issued
    admin = make.login(Role.PARTNER_ADMIN, partner_id=world.firm)

    response = client.get(f"/api/v1/licenses/{license_id}/token", headers=admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == TYP
    assert body["audience"] == product_code
    claims = tokens.verify_token(
        _served_jwks(client), body["token"], typ=TYP, audience=product_code, issuer=ISSUER
    )
    shown = client.get(f"/api/v1/licenses/{license_id}", headers=admin.headers).json()
    assert claims["sub"] == claims["license"] == license_id
    assert claims["partner"] == world.firm
    assert claims["product"] == product_code
    assert claims["product_id"] == shown["product_id"]
    assert claims["seats"] == 25
    assert claims["entitlements"] == shown["entitlements"]
    assert claims["regions"] == shown["regions"]
    assert claims["countries"] == shown["countries"]
    now = int(clock.now().timestamp())
    assert claims["valid_from"] == now
    assert claims["valid_until"] > claims["exp"]
    assert claims["grace_until"] is None
    # The token's own life: seven days by default, within the deployment's maximum.
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600


def test_a_token_never_outlives_its_license(client, make, world, sessions, system):
    with sessions() as db, db.begin():
        made, _ = license(
            db, system, agreement_id=world.agreement, valid_until=clock.now() + timedelta(days=2)
        )
        product_code = db.get(Product, made.product_id).code
    manager = make.login(Role.PROGRAM_MANAGER)

    body = client.get(f"/api/v1/licenses/{made.id}/token", headers=manager.headers).json()

    claims = tokens.verify_token(
        _served_jwks(client), body["token"], typ=TYP, audience=product_code, issuer=ISSUER
    )
    assert claims["exp"] == claims["valid_until"]


def test_another_firm_and_inactive_licenses_get_no_token(
    client, make, issued, sessions, system, frozen_clock
):
    license_id, _ = issued
    with sessions() as db, db.begin():
        other = partner(db, system, status="active")
    stranger = make.login(Role.PARTNER_ADMIN, partner_id=other.id)
    manager = make.login(Role.PROGRAM_MANAGER)
    url = f"/api/v1/licenses/{license_id}/token"

    assert client.get(url, headers=stranger.headers).status_code == 404
    assert client.get(url).status_code == 401
    with sessions() as db, db.begin():
        service.suspend_license(db, system, license_id=license_id, reason="unpaid")
    refused = client.get(url, headers=manager.headers)
    assert refused.status_code == 409, refused.text
    assert "suspended" in refused.json()["detail"]


def test_jose_verifies_a_license_token_with_the_served_jwks_alone(client, make, issued):
    license_id, product_code = issued
    manager = make.login(Role.PROGRAM_MANAGER)
    token = client.get(f"/api/v1/licenses/{license_id}/token", headers=manager.headers).json()[
        "token"
    ]
    request = {
        "token": token,
        "jwks": _served_jwks(client),
        "issuer": ISSUER,
        "audience": product_code,
        "typ": TYP,
        "currentDate": clock.now().isoformat(),
    }

    result = node_verify_token(request)

    assert result["verified"], result
    assert result["header"]["alg"] == "Ed25519"
    assert result["header"]["typ"] == TYP
    assert result["payload"]["license"] == license_id
    assert not node_verify_token(request | {"audience": "ANOTHER-PRODUCT"})["verified"]
    assert not node_verify_token(request | {"typ": "at+jwt"})["verified"]
