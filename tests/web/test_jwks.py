"""GET /.well-known/jwks.json: the token keys, tagged, revalidated, kept through a rotation
while their tokens live and gone after."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.crypto import keyring, tokens
from charter.crypto.models import KeyPurpose
from charter.crypto.tokens import TokenRejected
from charter.web import jwks
from charter.web.memo import Memo

JWKS = "/.well-known/jwks.json"
TYP = "license+jwt"
AUDIENCE = "urn:charter:licensed-software"
ISSUER = "http://127.0.0.1:8000"


def sign(sessions) -> str:
    with sessions() as db, db.begin():
        return tokens.sign_token(
            db, typ=TYP, claims={"sub": "lic_01"}, audience=AUDIENCE, lifetime=timedelta(days=30)
        )


def kids(response) -> list[str]:
    return [key["kid"] for key in response.json()["keys"]]


def verifies_with(served: dict, token: str) -> bool:
    try:
        tokens.verify_token(served, token, typ=TYP, audience=AUDIENCE, issuer=ISSUER)
    except TokenRejected:
        return False
    return True


def test_a_fresh_deployment_publishes_its_first_token_key(client, sessions):
    response = client.get(JWKS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jwk-set+json"
    (key,) = response.json()["keys"]
    assert {key["kty"], key["crv"], key["use"], key["alg"]} == {"OKP", "Ed25519", "sig"}
    # The first token is signed by the key already published.
    assert verifies_with(response.json(), sign(sessions))
    # A public document: no sign-in session is read or made.
    assert "set-cookie" not in response.headers


def test_the_set_is_tagged_cached_briefly_and_revalidated(client, sessions):
    response = client.get(JWKS)
    assert response.headers["cache-control"] == "public, max-age=300"
    with sessions() as db:
        assert response.json() == tokens.jwks(db)
    etag = response.headers["etag"]
    assert etag.startswith('"')
    for naming in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(JWKS, headers={"If-None-Match": naming})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, max-age=300"
    assert client.get(JWKS, headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_set_is_served_from_memory_as_stored(client, monkeypatch):
    # Kept without an age limit here, so that a slow machine does not let it age out.
    monkeypatch.setattr(jwks, "_served", Memo(1 << 20, size=lambda kept: len(kept.body)))
    first = client.get(JWKS)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the keys were read again though none changed")

    monkeypatch.setattr(keyring, "published_token_keys", refuse)
    again = client.get(JWKS)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]


def test_a_rotation_keeps_the_old_key_while_its_tokens_live_and_drops_it_after(
    frozen_clock, client, sessions, system, settings
):
    old_token = sign(sessions)
    before = client.get(JWKS)
    (old_kid,) = kids(before)
    with sessions() as db, db.begin():
        keyring.rotate_key(db, system, settings, purpose=KeyPurpose.TOKEN)
    new_token = sign(sessions)

    # Shown at once (this process forgot the set it kept), with a new tag.
    rotated = client.get(JWKS, headers={"If-None-Match": before.headers["etag"]})
    assert rotated.status_code == 200
    assert rotated.headers["etag"] != before.headers["etag"]
    new_kid = kids(rotated)[0]
    assert kids(rotated) == [new_kid, old_kid]
    assert verifies_with(rotated.json(), old_token)
    assert verifies_with(rotated.json(), new_token)

    window = keyring.token_key_window(settings)
    frozen_clock.advance(window - timedelta(seconds=1))
    assert kids(client.get(JWKS)) == [new_kid, old_kid]

    # The old key's last token has expired: the set drops it by itself, under a new tag.
    frozen_clock.advance(timedelta(seconds=1))
    after = client.get(JWKS, headers={"If-None-Match": rotated.headers["etag"]})
    assert after.status_code == 200
    assert kids(after) == [new_kid]
    assert not verifies_with(after.json(), old_token)
    with pytest.raises(TokenRejected, match=f"its key {old_kid} is not in the key set"):
        tokens.verify_token(after.json(), old_token, typ=TYP, audience=AUDIENCE, issuer=ISSUER)
