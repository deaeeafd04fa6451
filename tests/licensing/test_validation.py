"""License validation: every code the decision gives, over HTTP where its data exists; the
signed answer verified by an independent RFC 9421 implementation; 422s naming the field; 429."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from http_message_signatures import (
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from sqlalchemy import update

from charter.app import create_app
from charter.licensing import keyformat, service
from charter.licensing.enums import LicenseStatus
from charter.licensing.models import License, Product
from charter.licensing.validation import (
    ActivationState,
    LicenseSnapshot,
    ValidationCode,
    ValidationRequest,
    decide,
)
from charter.partners.enums import PartnerStatus
from charter.tiers import flows
from tests.interop.conftest import node_verify_http_signature
from tests.licensing.factories import license

URL = "/api/v1/licenses/validate"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EMBARGO = frozenset({"CU", "IR", "KP", "SY", "UA-09", "UA-14", "UA-40", "UA-43"})


# The decision, pure: one test per code, in the documented order.


def _snapshot(**changes) -> LicenseSnapshot:
    base = LicenseSnapshot(
        license_id="lic_01",
        partner_id="prt_01",
        product_code="PLAT",
        status=LicenseStatus.ACTIVE,
        partner_status=PartnerStatus.ACTIVE.value,
        seats=3,
        entitlements=frozenset({"analytics"}),
        regions=frozenset({"emea"}),
        countries=frozenset({"DE", "FR"}),
        valid_from=NOW - timedelta(days=30),
        valid_until=NOW + timedelta(days=30),
    )
    return replace(base, **changes)


def _ask(**fields) -> ValidationRequest:
    return ValidationRequest.model_validate(
        {"key": "CHL-x", "product": "PLAT", "nonce": "nonce-0001"} | fields
    )


ALIVE = ActivationState(fingerprint_activated=True, active_machines=1)
DECISIONS = [
    (None, {}, {}, ValidationCode.NOT_FOUND),
    (_snapshot(), {}, {}, ValidationCode.VALID),
    (_snapshot(), {"product": "OTHER"}, {}, ValidationCode.PRODUCT_MISMATCH),
    (_snapshot(), {"country": "UA-43"}, {}, ValidationCode.EMBARGOED_REGION),
    (_snapshot(countries=frozenset({"IR"})), {"country": "IR"}, {}, "EMBARGOED_REGION"),
    (_snapshot(), {"country": "KP"}, {}, ValidationCode.EMBARGOED_REGION),
    (_snapshot(status=LicenseStatus.REVOKED), {}, {}, ValidationCode.REVOKED),
    (_snapshot(status=LicenseStatus.TERMINATED), {}, {}, ValidationCode.REVOKED),
    (_snapshot(partner_status="suspended"), {}, {}, ValidationCode.PARTNER_SUSPENDED),
    (_snapshot(status=LicenseStatus.SUSPENDED), {}, {}, ValidationCode.SUSPENDED),
    (_snapshot(valid_until=NOW), {}, {}, ValidationCode.EXPIRED),
    (_snapshot(status=LicenseStatus.EXPIRED), {}, {}, ValidationCode.EXPIRED),
    (
        _snapshot(valid_until=NOW - timedelta(days=1), grace_until=NOW + timedelta(days=1)),
        {},
        {},
        ValidationCode.IN_GRACE,
    ),
    (
        _snapshot(valid_until=NOW - timedelta(days=2), grace_until=NOW),
        {},
        {},
        ValidationCode.EXPIRED,
    ),
    (_snapshot(), {}, {"certification_required": True}, ValidationCode.CERTIFICATION_REQUIRED),
    (_snapshot(), {"region": "apac"}, {}, ValidationCode.REGION_NOT_PERMITTED),
    (_snapshot(), {"country": "US"}, {}, ValidationCode.REGION_NOT_PERMITTED),
    (_snapshot(), {"country": "IT", "region": "emea"}, {}, ValidationCode.VALID),
    (_snapshot(), {"country": "de-by"}, {}, ValidationCode.VALID),
    (_snapshot(), {"region": "apac"}, {"pending_approval": True}, "PENDING_APPROVAL"),
    (_snapshot(), {"feature": "sso"}, {}, ValidationCode.FEATURE_NOT_ENTITLED),
    (_snapshot(), {"feature": "analytics"}, {"activation": ALIVE}, ValidationCode.VALID),
    (
        _snapshot(),
        {},
        {"activation": replace(ALIVE, active_machines=4)},
        ValidationCode.TOO_MANY_ACTIVATIONS,
    ),
    (
        _snapshot(),
        {},
        {"activation": replace(ALIVE, fingerprint_activated=False)},
        ValidationCode.NOT_ACTIVATED,
    ),
    (
        _snapshot(),
        {},
        {"activation": replace(ALIVE, heartbeat_alive=False)},
        ValidationCode.HEARTBEAT_DEAD,
    ),
]


@pytest.mark.parametrize(("snapshot", "asked", "hooks", "code"), DECISIONS)
def test_each_check_gives_its_code(snapshot, asked, hooks, code):
    decision = decide(snapshot, _ask(**asked), at=NOW, embargo=EMBARGO, **hooks)
    assert decision.code == code, decision.detail
    assert decision.valid is (code in {"VALID", "IN_GRACE"})
    assert decision.detail


def test_every_code_is_produced_by_some_check():
    produced = {code for *_, code in DECISIONS}
    assert produced == set(ValidationCode)


def test_the_first_failing_check_decides():
    revoked_elsewhere = _snapshot(status=LicenseStatus.REVOKED, partner_status="suspended")
    assert decide(revoked_elsewhere, _ask(), at=NOW, embargo=EMBARGO).code == "REVOKED"
    # An embargoed territory is refused before the license's own state is looked at.
    embargoed = decide(revoked_elsewhere, _ask(country="SY"), at=NOW, embargo=EMBARGO)
    assert embargoed.code == "EMBARGOED_REGION"
    # Even a license that lists the country cannot be used there.
    listed = _snapshot(countries=frozenset({"UA"}))
    assert decide(listed, _ask(country="UA-14"), at=NOW, embargo=EMBARGO).code == (
        "EMBARGOED_REGION"
    )
    assert decide(listed, _ask(country="UA-30"), at=NOW, embargo=EMBARGO).code == "VALID"


# Over HTTP, on both databases.


@pytest.fixture
def issued(world, sessions, system):
    """An active license of the world's product, 10 seats, EMEA with DE and FR; its key."""
    with sessions() as db, db.begin():
        made, key = license(db, system, agreement_id=world.agreement)
        return made.id, key, db.get(Product, made.product_id).code


def _validate(client: TestClient, **fields):
    return client.post(URL, json={"nonce": "n-0123456789"} | fields)


def _jwk_key(client: TestClient, kid: str) -> Ed25519PublicKey:
    served = json.loads(client.get("/.well-known/jwks.json").content)
    [jwk] = [one for one in served["keys"] if one["kid"] == kid]
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


def verified(client: TestClient, response, nonce: str):
    """Verify a validation answer as a client would, with an independent RFC 9421 library and
    the JWKS alone; returns the decision. :class:`InvalidSignature` when it does not hold."""
    keyid = response.headers["Signature-Input"].split('keyid="', 1)[1].split('"', 1)[0]
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(
            public_keys={keyid: _jwk_key(client, keyid)}, private_keys={}
        ),
    )
    [result] = verifier.verify(
        response,
        max_age=None,
        expect_tag="charter-license-validation",
        require_components=("@status", "content-digest"),
        body=response.content,
    )
    if result.parameters.get("nonce") != nonce:
        raise InvalidSignature("the answer is for another request (its nonce is not ours)")
    return json.loads(result.body)


def test_a_valid_key_is_answered_valid_and_signed(client, issued):
    license_id, key, product_code = issued

    response = _validate(
        client, key=key, product=product_code, feature="analytics", country="DE", nonce="abc-123-x"
    )

    assert response.status_code == 200, response.text
    assert "set-cookie" not in response.headers
    decision = verified(client, response, "abc-123-x")
    assert decision["valid"] is True
    assert decision["code"] == "VALID"
    assert decision["license_id"] == license_id
    assert decision["nonce"] == "abc-123-x"
    assert response.headers["Signature-Input"].startswith('charter=("@status" "content-digest")')
    assert ';alg="ed25519"' in response.headers["Signature-Input"]
    # The key as people type it: lower case, no hyphens.
    typed = _validate(client, key=key.lower().replace("-", ""), product=product_code)
    assert typed.json()["code"] == "VALID"


def test_a_replayed_or_altered_answer_does_not_verify(client, issued):
    _, key, product_code = issued
    response = _validate(client, key=key, product=product_code, nonce="first-nonce")
    assert verified(client, response, "first-nonce")["valid"]

    # Replayed to a client that asked with another nonce.
    with pytest.raises(InvalidSignature):
        verified(client, response, "second-nonce")
    # The nonce parameter rewritten to match: the signature no longer holds.
    response.headers["Signature-Input"] = response.headers["Signature-Input"].replace(
        "first-nonce", "second-nonce"
    )
    with pytest.raises(InvalidSignature):
        verified(client, response, "second-nonce")
    # A refusal turned into a success: the body no longer matches its signed digest.
    refused = _validate(client, key=key, product="OTHER", nonce="third-nonce")
    assert verified(client, refused, "third-nonce")["code"] == "PRODUCT_MISMATCH"
    forged = refused.json() | {"valid": True, "code": "VALID"}
    refused._content = json.dumps(forged, separators=(",", ":")).encode()
    with pytest.raises(InvalidSignature):
        verified(client, refused, "third-nonce")


def test_node_verifies_the_signed_answer_with_the_served_jwks(client, issued):
    _, key, product_code = issued
    response = _validate(client, key=key, product=product_code, nonce="node-nonce-1")
    message = {
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": base64.b64encode(response.content).decode(),
        "jwks": json.loads(client.get("/.well-known/jwks.json").content),
        "nonce": "node-nonce-1",
    }

    result = node_verify_http_signature(message)

    assert result["verified"], result
    assert result["params"]["alg"] == "ed25519"
    assert result["params"]["tag"] == "charter-license-validation"
    assert not node_verify_http_signature(message | {"nonce": "node-nonce-2"})["verified"]
    replayed = dict(message["headers"])
    replayed["signature-input"] = replayed["signature-input"].replace(
        "node-nonce-1", "node-nonce-2"
    )
    assert not node_verify_http_signature(message | {"headers": replayed, "nonce": "node-nonce-2"})[
        "verified"
    ]
    forged = json.dumps(response.json() | {"code": "EXPIRED"}).encode()
    assert not node_verify_http_signature(message | {"body": base64.b64encode(forged).decode()})[
        "verified"
    ]
    assert not node_verify_http_signature(message | {"status": 201})["verified"]


def _suspend_firm(sessions, system, firm_id):
    with sessions() as db, db.begin():
        flows.change_partner_status(
            db, system, partner_id=firm_id, status=PartnerStatus.SUSPENDED, reason="audit"
        )


def test_every_code_with_data_is_answered_over_http(
    client, issued, world, sessions, system, frozen_clock
):
    license_id, key, product_code = issued

    def code(**fields) -> str:
        response = _validate(client, **({"key": key, "product": product_code} | fields))
        assert response.status_code == 200, response.text
        return verified(client, response, "n-0123456789")["code"]

    unknown = keyformat.generate()
    assert code(key=unknown) == "NOT_FOUND"
    assert code(product="SOMETHING-ELSE") == "PRODUCT_MISMATCH"
    assert code(country="UA-43") == "EMBARGOED_REGION"
    assert code(country="cu") == "EMBARGOED_REGION"
    assert code(region="apac") == "REGION_NOT_PERMITTED"
    assert code(country="US") == "REGION_NOT_PERMITTED"
    assert code(feature="sso") == "FEATURE_NOT_ENTITLED"
    assert code(feature="analytics", region="emea", country="FR") == "VALID"

    with sessions() as db, db.begin():
        service.suspend_license(db, system, license_id=license_id, reason="unpaid")
    assert code() == "SUSPENDED"
    with sessions() as db, db.begin():
        service.reinstate_license(db, system, license_id=license_id, reason="paid")
    assert code() == "VALID"

    _suspend_firm(sessions, system, world.firm)
    assert code() == "PARTNER_SUSPENDED"

    with sessions() as db, db.begin():
        service.revoke_license(db, system, license_id=license_id, reason="breach")
    assert code() == "REVOKED"


def test_an_expired_license_is_answered_expired(client, world, sessions, system, frozen_clock):
    with sessions() as db, db.begin():
        made, key = license(
            db, system, agreement_id=world.agreement, valid_until=NOW + timedelta(days=1)
        )
        product_code = db.get(Product, made.product_id).code
    frozen_clock.advance(timedelta(days=2))
    response = _validate(client, key=key, product=product_code)
    assert verified(client, response, "n-0123456789")["code"] == "EXPIRED"
    assert response.json()["valid"] is False


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


def test_a_mistyped_key_is_422_naming_key(client, issued):
    _, key, product_code = issued
    body, check = key[:-1], key[-1]
    wrong = body + ("0" if check != "0" else "1")
    assert _fields(_validate(client, key=wrong, product=product_code)) == ["key"]
    assert _fields(_validate(client, key="CHL-SHORT", product=product_code)) == ["key"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": None}, "key"),
        ({"product": None}, "product"),
        ({"nonce": None}, "nonce"),
        ({"nonce": "short"}, "nonce"),
        ({"nonce": 'has "quotes" in it'}, "nonce"),
        ({"key": "K" * 65}, "key"),
        ({"fingerprint": "f" * 257}, "fingerprint"),
        ({"feature": "x" * 65}, "feature"),
        ({"region": "Mars!"}, "region"),
        ({"country": "XX"}, "country"),
        ({"country": "UA-99"}, "country"),
        ({"seats": 5}, "seats"),
    ],
)
def test_missing_oversize_or_unknown_fields_are_422_naming_them(client, change, field):
    body = {"key": keyformat.generate(), "product": "PLAT", "nonce": "n-0123456789"}
    body.update(change)
    body = {name: value for name, value in body.items() if value is not None}
    assert _fields(client.post(URL, json=body)) == [field]


@pytest.fixture
def strict_client(settings, engine):
    limited = settings.model_copy(
        update={
            "license_validation_per_key_per_minute": 2,
            "license_validation_per_address_per_minute": 5,
            "license_embargoed_regions": ["FR"],
        }
    )
    with TestClient(create_app(limited, engine=engine), raise_server_exceptions=False) as client:
        yield client


def test_too_many_validations_are_429_with_retry_after(strict_client, issued):
    _, key, product_code = issued
    for _ in range(2):
        assert _validate(strict_client, key=key, product=product_code).status_code == 200
    refused = _validate(strict_client, key=key, product=product_code)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Signature" not in refused.headers
    assert refused.json()["type"].endswith("/problems/rate-limited")
    assert strict_client.get("/problems/rate-limited").json()["status"] == 429

    # Other keys from the same address count against the address's own limit.
    answers = [
        _validate(strict_client, key=keyformat.generate(), product=product_code).status_code
        for _ in range(3)
    ]
    assert answers == [200, 200, 429]


def test_the_embargo_list_is_a_setting(strict_client, issued):
    _, key, product_code = issued
    # France is listed by this deployment; the default list no longer applies.
    answer = _validate(strict_client, key=key, product=product_code, country="FR").json()
    assert answer["code"] == "EMBARGOED_REGION"
    answer = _validate(strict_client, key=key, product=product_code, country="FR-75C").json()
    assert answer["code"] == "EMBARGOED_REGION"


def test_the_machine_and_the_firms_compliance_are_answered_over_http(
    client, issued, sessions, frozen_clock
):
    """The activations and the firm's standing against its agreement decide too."""
    license_id, key, product_code = issued

    def answer(**fields) -> str:
        response = _validate(client, **({"key": key, "product": product_code} | fields))
        assert response.status_code == 200, response.text
        return verified(client, response, "n-0123456789")["code"]

    assert answer(fingerprint="machine-0001") == "NOT_ACTIVATED"
    activated = client.post(
        "/api/v1/licenses/activate",
        json={
            "key": key,
            "fingerprint": "machine-0001",
            "region": "emea",
            "customer_name": "Acme",
        },
    )
    assert activated.status_code == 201, activated.text
    assert answer(fingerprint="machine-0001") == "VALID"
    assert answer(fingerprint="machine-0002") == "NOT_ACTIVATED"
    malformed = _validate(client, key=key, product=product_code, fingerprint="no spaces ok")
    assert "fingerprint" in _fields(malformed)

    with sessions() as db, db.begin():
        db.execute(
            update(License)
            .where(License.id == license_id)
            .values(compliance="grace", grace_until=NOW + timedelta(days=30))
        )
    assert answer() == "IN_GRACE"
    assert answer(fingerprint="machine-0001") == "IN_GRACE"
    with sessions() as db, db.begin():
        db.execute(update(License).where(License.id == license_id).values(compliance="lapsed"))
    assert answer() == "CERTIFICATION_REQUIRED"


def test_a_floating_seat_whose_heartbeats_stopped_is_answered_dead(
    client, world, sessions, system, frozen_clock
):
    with sessions() as db, db.begin():
        made, key = license(db, system, agreement_id=world.agreement, seat_model="floating")
        product_code = db.get(Product, made.product_id).code
    activated = client.post(
        "/api/v1/licenses/activate",
        json={"key": key, "fingerprint": "floating-01", "region": "emea", "customer_name": "A"},
    )
    assert activated.status_code == 201, activated.text
    frozen_clock.advance(timedelta(hours=1))
    response = _validate(client, key=key, product=product_code, fingerprint="floating-01")
    assert verified(client, response, "n-0123456789")["code"] == "HEARTBEAT_DEAD"


def test_a_listening_server_keeps_licenses_and_sees_another_process_change_them(
    settings, engine, backend, issued
):
    """charter serve listens for change notices on PostgreSQL (and SQLite needs none): a
    license kept in memory is read again once another process changes it."""
    license_id, key, product_code = issued
    app = create_app(settings, engine=engine, listen=True)
    assert app.state.change_watch is not None
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        if backend == "postgresql":
            assert app.state.change_watch.wait_listening(10)
        assert _validate(client, key=key, product=product_code).json()["code"] == "VALID"
        # Another process suspends the license behind the application's back.
        if backend == "postgresql":
            with psycopg.connect(conninfo) as other:
                other.execute(
                    "UPDATE licenses SET status = 'suspended' WHERE id = %s", (license_id,)
                )
        else:
            with sqlite3.connect(engine.url.database) as other:
                other.execute(
                    "UPDATE licenses SET status = 'suspended' WHERE id = ?", (license_id,)
                )
        deadline = time.monotonic() + 10
        code = "VALID"
        while code == "VALID" and time.monotonic() < deadline:
            code = _validate(client, key=key, product=product_code).json()["code"]
            time.sleep(0.02)
        assert code == "SUSPENDED"
    if backend == "postgresql":
        app.state.change_watch.close()
