"""Charter's tokens verify with `jose` (Node) and the served JWKS alone; after a rotation and
the old key's retirement, the old key's tokens no longer do."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from charter.core import clock
from charter.crypto import keyring, tokens
from charter.crypto.models import KeyPurpose
from tests.interop.conftest import node_verify_token

TYP = "license+jwt"
AUDIENCE = "urn:charter:licensed-software"
ISSUER = "http://127.0.0.1:8000"
CLAIMS = {
    "sub": "lic_01",
    "license": "lic_01",
    "partner": "prt_01",
    "product": "charter-enterprise",
    "entitlements": ["sso"],
    "seats": 25,
    "regions": ["EU"],
}


def sign(sessions) -> str:
    with sessions() as db, db.begin():
        return tokens.sign_token(
            db, typ=TYP, claims=CLAIMS, audience=AUDIENCE, lifetime=timedelta(days=7)
        )


def jose_verifies(token: str, jwks: dict[str, Any], **changes: str) -> dict[str, Any]:
    """What `jose` says of ``token`` with ``jwks``, at Charter's (moved) time."""
    request = {
        "token": token,
        "jwks": jwks,
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "typ": TYP,
        "currentDate": clock.now().isoformat(),
    }
    return node_verify_token(request | changes)


def served_jwks(client: TestClient) -> dict[str, Any]:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    # Only the served bytes, as a verifier downloads them.
    served: dict[str, Any] = json.loads(response.content)
    return served


def test_jose_verifies_a_token_with_the_served_jwks_until_its_key_is_retired(
    frozen_clock, client, sessions, system, settings
):
    token = sign(sessions)
    jwks = served_jwks(client)
    result = jose_verifies(token, jwks)
    assert result["verified"], result
    assert result["header"]["alg"] == "Ed25519"
    assert result["header"]["typ"] == TYP
    assert result["header"]["kid"] == jwks["keys"][0]["kid"]
    assert {name: result["payload"][name] for name in CLAIMS} == CLAIMS

    # jose holds Charter to the same profile: type, audience, issuer, signature.
    assert not jose_verifies(token, jwks, typ="invoice+jwt")["verified"]
    assert not jose_verifies(token, jwks, audience="urn:other")["verified"]
    assert not jose_verifies(token, jwks, issuer="https://elsewhere.example")["verified"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    more_seats = base64.urlsafe_b64encode(json.dumps(claims | {"seats": 10_000}).encode())
    tampered = f"{header}.{more_seats.decode().rstrip('=')}.{signature}"
    assert not jose_verifies(tampered, jwks)["verified"]

    # A rotation: the old key stays published, so its token keeps verifying.
    with sessions() as db, db.begin():
        keyring.rotate_key(db, system, settings, purpose=KeyPurpose.TOKEN)
    new_token = sign(sessions)
    rotated = served_jwks(client)
    assert len(rotated["keys"]) == 2
    assert jose_verifies(token, rotated)["verified"]
    assert jose_verifies(new_token, rotated)["verified"]

    # The old key's window ends (every token it signed has expired) and it is dropped.
    frozen_clock.advance(keyring.token_key_window(settings))
    with sessions() as db, db.begin():
        assert len(keyring.drop_expired_token_keys(db, system, settings)) == 1
    retired = served_jwks(client)
    assert [key["kid"] for key in retired["keys"]] == [rotated["keys"][0]["kid"]]
    refused = jose_verifies(token, retired)
    assert not refused["verified"]
    # Refused for its key, not only for its age: even at the time it was signed.
    at_signing = jose_verifies(
        token, retired, currentDate=(clock.now() - keyring.token_key_window(settings)).isoformat()
    )
    assert not at_signing["verified"]
    assert at_signing["code"] == "ERR_JWKS_NO_MATCHING_KEY", at_signing
