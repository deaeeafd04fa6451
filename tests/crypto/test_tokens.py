"""Signed tokens (RFC 7519 under RFC 8725): what verifies, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select

from charter.config import Settings
from charter.core import clock
from charter.core.errors import Invalid
from charter.core.models import Event
from charter.crypto import keyring, keys, tokens
from charter.crypto.models import KeyPurpose, SigningKey
from charter.crypto.tokens import TokenRejected

TYP = "license+jwt"
AUDIENCE = "urn:charter:licensed-software"
ISSUER = "http://127.0.0.1:8000"
LICENSE_CLAIMS = {
    "sub": "lic_01",
    "license": "lic_01",
    "partner": "prt_01",
    "product": "charter-enterprise",
    "entitlements": ["sso", "audit-export"],
    "seats": 25,
    "regions": ["EU", "US"],
    "valid_until": "2027-03-01T00:00:00Z",
    "grace_days": 14,
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(db, **changes: Any) -> str:
    arguments: dict[str, Any] = {
        "typ": TYP,
        "claims": LICENSE_CLAIMS,
        "audience": AUDIENCE,
        "lifetime": timedelta(days=7),
    }
    return tokens.sign_token(db, **(arguments | changes))


def verify(db, token: str, **changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"typ": TYP, "audience": AUDIENCE}
    return tokens.verify_token(db, token, **(arguments | changes))


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload))


def forge(header: dict[str, Any], payload: dict[str, Any], sign_input: Any) -> str:
    """A compact JWS of our own making: ``sign_input(bytes) -> signature bytes``."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(sign_input(signing_input.encode('ascii')))}"


def token_private_key(db, settings: Settings) -> Ed25519PrivateKey:
    return keyring.active_signer(db, settings, KeyPurpose.TOKEN).private_key


def refusal(db, token: str, **changes: Any) -> str:
    with pytest.raises(TokenRejected) as refused:
        verify(db, token, **changes)
    # A problem naming the token, as the API would answer it.
    assert [error.field for error in refused.value.errors] == ["token"]
    return refused.value.reason


def test_a_signed_token_verifies_and_carries_its_claims(db, settings, frozen_clock):
    token = sign(db)
    header, payload = parts(token)
    signer = keyring.active_signer(db, settings, KeyPurpose.TOKEN)
    kid = keys.jwk_thumbprint(signer.private_key.public_key())
    assert header == {"alg": "Ed25519", "typ": TYP, "kid": kid}
    now = int(frozen_clock.now().timestamp())
    assert payload["iss"] == ISSUER
    assert payload["aud"] == AUDIENCE
    assert (payload["iat"], payload["nbf"], payload["exp"]) == (now, now, now + 7 * 86400)
    assert isinstance(payload["jti"], str)
    assert len(payload["jti"]) >= 16

    claims = verify(db, token)
    assert {name: claims[name] for name in LICENSE_CLAIMS} == LICENSE_CLAIMS
    # The same with the published key set alone, as any offline verifier holds it.
    assert (
        tokens.verify_token(tokens.jwks(db), token, typ=TYP, audience=AUDIENCE, issuer=ISSUER)
        == claims
    )
    # Two tokens of the same claims are two tokens.
    assert parts(sign(db))[1]["jti"] != payload["jti"]


def test_the_kid_is_the_rfc_7638_thumbprint_and_the_jwks_lists_the_key(db, settings):
    sign(db)
    public = keyring.active_signer(db, settings, KeyPurpose.TOKEN).private_key.public_key()
    x = b64(keys.raw_public_key(public))
    # RFC 7638 §3: the required members in lexicographic order, no whitespace, SHA-256.
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    thumbprint = b64(hashlib.sha256(canonical.encode()).digest())
    assert tokens.jwks(db) == {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": x,
                "kid": thumbprint,
                "use": "sig",
                "alg": "Ed25519",
            }
        ]
    }


def test_the_thumbprint_matches_rfc_8037s_example():
    # RFC 8037 Appendix A.3.
    public = Ed25519PublicKey.from_public_bytes(
        unb64("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
    )
    assert keys.jwk_thumbprint(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_token_keys_are_not_credential_keys(db, system, settings):
    web = settings.model_copy(update={"public_url": "https://badges.example.com"})
    db.info["settings"] = web
    credential = keyring.active_signer(db, web)
    token = sign(db)
    kid = parts(token)[0]["kid"]
    token_key = keyring.active_signer(db, web, KeyPurpose.TOKEN)
    assert token_key.key_id != credential.key_id
    # The DID document lists the credential key alone; a token key verifies no credential.
    document = keyring.did_document(db, web)
    assert document["assertionMethod"] == [credential.verification_method]
    assert keyring.public_key_for(db, token_key.verification_method) is None
    assert keyring.controller_of(db, token_key.verification_method) is None
    # Each purpose rotates on its own.
    keyring.rotate_key(db, system, web)
    assert parts(sign(db))[0]["kid"] == kid
    keyring.rotate_key(db, system, web, purpose=KeyPurpose.TOKEN)
    assert keyring.active_signer(db, web).key_id != credential.key_id
    assert parts(sign(db))[0]["kid"] != kid
    purposes = [key.purpose for key in keyring.list_keys(db)]
    assert sorted(purposes) == ["credential", "credential", "token", "token"]


def test_a_token_of_another_kind_is_refused(db):
    other = sign(db, typ="invoice+jwt")
    assert "type 'invoice+jwt' is not 'license+jwt'" in refusal(db, other)
    assert verify(db, other, typ="invoice+jwt")


def test_the_full_media_type_in_typ_is_the_same_type(db, settings):
    header, payload = parts(sign(db))
    header["typ"] = "application/License+JWT"
    full = forge(header, payload, token_private_key(db, settings).sign)
    assert verify(db, full)["sub"] == "lic_01"
    header["typ"] = "JWT"
    plain = forge(header, payload, token_private_key(db, settings).sign)
    assert "type 'JWT'" in refusal(db, plain)


def test_alg_none_is_refused(db):
    header, payload = parts(sign(db))
    unsigned = forge(header | {"alg": "none"}, payload, lambda _: b"")
    assert refusal(db, unsigned) == "its algorithm 'none' is not allowed (only Ed25519)"
    nameless = forge({k: v for k, v in header.items() if k != "alg"}, payload, lambda _: b"")
    assert refusal(db, nameless) == "it is not a compact JWS"


def test_hs256_with_the_public_key_as_secret_is_refused(db, settings):
    header, payload = parts(sign(db))
    published = tokens.jwks(db)["keys"][0]
    # The classic confusion: an HMAC "signed" with what anyone can read as the key.
    for secret in (unb64(published["x"]), published["x"].encode(), json.dumps(published).encode()):
        forged = forge(
            header | {"alg": "HS256"},
            payload | {"seats": 10_000},
            lambda data, secret=secret: hmac.new(secret, data, hashlib.sha256).digest(),
        )
        assert refusal(db, forged) == "its algorithm 'HS256' is not allowed (only Ed25519)"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256", "Ed448", "ed25519"])
def test_any_other_algorithm_is_refused_even_with_a_good_signature(db, settings, alg):
    header, payload = parts(sign(db))
    header = header | {"alg": alg}
    # Signed by the real key: only the algorithm is wrong (EdDSA is even the same maths).
    token = forge(header, payload, token_private_key(db, settings).sign)
    assert refusal(db, token) == f"its algorithm {alg!r} is not allowed (only Ed25519)"


def test_a_wrong_audience_or_issuer_is_refused(db):
    token = sign(db)
    assert "does not name 'urn:other'" in refusal(db, token, audience="urn:other")
    assert "issuer 'http://127.0.0.1:8000' is not 'https://elsewhere.example'" in refusal(
        db, token, issuer="https://elsewhere.example"
    )
    with pytest.raises(TokenRejected, match="issuer"):
        tokens.verify_token(
            tokens.jwks(db), token, typ=TYP, audience=AUDIENCE, issuer="https://elsewhere.example"
        )
    with pytest.raises(ValueError, match="issuer"):
        tokens.verify_token(tokens.jwks(db), token, typ=TYP, audience=AUDIENCE)


def test_a_token_for_several_audiences_verifies_for_each(db):
    token = sign(db, audience=[AUDIENCE, "urn:charter:portal"])
    assert verify(db, token)["aud"] == [AUDIENCE, "urn:charter:portal"]
    assert verify(db, token, audience="urn:charter:portal")
    assert "does not name" in refusal(db, token, audience="urn:other")


def test_an_expired_token_is_refused_after_a_small_leeway(db, frozen_clock):
    token = sign(db, lifetime=timedelta(hours=1))
    frozen_clock.advance(timedelta(hours=1, seconds=30))
    assert verify(db, token)  # within the leeway for clock skew
    frozen_clock.advance(timedelta(seconds=31))
    assert refusal(db, token).startswith("it expired at ")


def test_a_token_not_yet_valid_is_refused_until_its_time(db, frozen_clock):
    start = frozen_clock.now() + timedelta(days=1)
    token = sign(db, not_before=start)
    assert parts(token)[1]["nbf"] == int(start.timestamp())
    assert refusal(db, token).startswith("it is not valid before ")
    frozen_clock.set(start)
    assert verify(db, token)


def test_a_token_issued_in_the_future_is_refused(db, settings, frozen_clock):
    header, payload = parts(sign(db))
    ahead = payload | {"iat": payload["iat"] + 3600}
    token = forge(header, ahead, token_private_key(db, settings).sign)
    assert refusal(db, token).startswith("it was issued in the future")


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "nbf", "iat", "jti"])
def test_a_token_missing_a_registered_claim_is_refused(db, settings, claim):
    header, payload = parts(sign(db))
    del payload[claim]
    token = forge(header, payload, token_private_key(db, settings).sign)
    assert refusal(db, token) == f"it lacks the claims {claim}"


def test_an_unknown_kid_is_refused(db, settings):
    header, payload = parts(sign(db))
    stranger = Ed25519PrivateKey.generate()
    own_kid = keys.jwk_thumbprint(stranger.public_key())
    forged = forge(header | {"kid": own_kid}, payload, stranger.sign)
    assert f"its key {own_kid} is not in the key set" in refusal(db, forged)
    nameless = forge({k: v for k, v in header.items() if k != "kid"}, payload, stranger.sign)
    assert refusal(db, nameless) == "it names no key (kid)"


def test_a_stranger_cannot_sign_under_our_kid(db):
    header, payload = parts(sign(db))
    forged = forge(header, payload | {"seats": 10_000}, Ed25519PrivateKey.generate().sign)
    assert refusal(db, forged).startswith("its signature does not verify against key ")


def test_a_tampered_token_is_refused(db):
    token = sign(db)
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload)) | {"seats": 10_000}
    tampered = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert refusal(db, tampered).startswith("its signature does not verify")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert refusal(db, f"{header}.{payload}.{flipped}").startswith("its signature does not")


def test_critical_headers_are_refused(db, settings):
    header, payload = parts(sign(db))
    token = forge(
        header | {"crit": ["exp"], "exp": 1}, payload, token_private_key(db, settings).sign
    )
    assert "critical header" in refusal(db, token)


@pytest.mark.parametrize(
    "text",
    ["", "not a token", "a.b", "a.b.c.d.e", "eyJ.eyJ.x", "é.é.é", "x" * 70_000],
)
def test_what_is_no_compact_jws_is_refused(db, text):
    assert refusal(db, text).startswith("it is not a compact JWS")


def test_signing_refuses_what_the_profile_forbids(db, settings):
    with pytest.raises(Invalid) as refused:
        sign(db, lifetime=timedelta(days=settings.token_max_lifetime_days, seconds=1))
    assert refused.value.errors[0].field == "lifetime"
    with pytest.raises(Invalid) as refused:
        sign(db, lifetime=timedelta(0))
    assert refused.value.errors[0].field == "lifetime"
    with pytest.raises(Invalid) as refused:
        sign(db, claims={"sub": "x", "exp": 1, "iss": "me"})
    assert refused.value.errors[0].field == "claims"
    assert "exp, iss" in refused.value.errors[0].detail
    for typ in ("JWT", "license", "License+JWT", ""):
        with pytest.raises(Invalid) as refused:
            sign(db, typ=typ)
        assert refused.value.errors[0].field == "typ"
    with pytest.raises(Invalid) as refused:
        sign(db, not_before=clock.now() + timedelta(days=8))
    assert refused.value.errors[0].field == "not_before"
    with pytest.raises(Invalid) as refused:
        sign(db, audience=[])
    assert refused.value.errors[0].field == "audience"
    with pytest.raises(Invalid) as refused:
        sign(db, claims={"when": clock.now()})
    assert refused.value.errors[0].field == "claims"


def test_a_rotated_key_verifies_its_tokens_until_its_window_ends(
    db, system, settings, frozen_clock
):
    old = sign(db, lifetime=timedelta(days=settings.token_max_lifetime_days))
    old_kid = parts(old)[0]["kid"]
    keyring.rotate_key(db, system, settings, purpose=KeyPurpose.TOKEN)
    new = sign(db)
    assert parts(new)[0]["kid"] != old_kid
    # Both keys are published, newest first; both tokens verify.
    assert [key["kid"] for key in tokens.jwks(db)["keys"]] == [parts(new)[0]["kid"], old_kid]
    assert verify(db, old)
    assert verify(db, new)

    window = keyring.token_key_window(settings)
    frozen_clock.advance(window - timedelta(seconds=1))
    assert old_kid in [key["kid"] for key in tokens.jwks(db)["keys"]]
    assert keyring.drop_expired_token_keys(db, system, settings) == []

    frozen_clock.advance(timedelta(seconds=1))
    published = tokens.jwks(db)
    assert old_kid not in [key["kid"] for key in published["keys"]]
    # Past its window the key is gone from the set, and so is every token it signed.
    assert f"its key {old_kid} is not in the key set" in refusal(db, old)
    with pytest.raises(TokenRejected, match="not in the key set"):
        tokens.verify_token(published, old, typ=TYP, audience=AUDIENCE, issuer=ISSUER)


def test_keys_past_their_window_are_dropped_with_their_private_halves(
    db, system, settings, frozen_clock
):
    sign(db)
    old = keyring.active_signer(db, settings, KeyPurpose.TOKEN)
    old_kid = keys.jwk_thumbprint(old.private_key.public_key())
    keyring.rotate_key(db, system, settings, purpose=KeyPurpose.TOKEN)
    frozen_clock.advance(keyring.token_key_window(settings))
    assert keyring.drop_expired_token_keys(db, system, settings) == [old_kid]
    db.flush()
    assert db.get(SigningKey, old.key_id) is None
    assert [key.purpose for key in keyring.list_keys(db)] == [KeyPurpose.TOKEN]
    dropped = db.scalar(select(Event).where(Event.type == "signing_key.dropped"))
    assert dropped is not None
    assert dropped.subject_id == old.key_id
    assert dropped.payload["verification_method"].endswith(old_kid)
    # The active key is never dropped, however old.
    frozen_clock.advance(timedelta(days=3650))
    assert keyring.drop_expired_token_keys(db, system, settings) == []
    assert len(tokens.jwks(db)["keys"]) == 1


def test_rotating_and_dropping_need_the_keys_permission(db, make, settings):
    from charter.core.auth import Role
    from charter.core.errors import Forbidden

    auditor = make.login(Role.AUDITOR).principal
    with pytest.raises(Forbidden):
        keyring.rotate_key(db, auditor, settings, purpose=KeyPurpose.TOKEN)
    with pytest.raises(Forbidden):
        keyring.drop_expired_token_keys(db, auditor, settings)


def test_the_worker_drops_token_keys_past_their_window(db, settings, frozen_clock):
    from charter.core.auth import Principal
    from charter.crypto import handlers

    worker = Principal.system("worker")
    sign(db)
    keyring.rotate_key(db, worker, settings, purpose=KeyPurpose.TOKEN)
    handlers.drop_expired_token_keys(db, worker, frozen_clock.now())
    assert len(keyring.list_keys(db, KeyPurpose.TOKEN)) == 2
    frozen_clock.advance(keyring.token_key_window(settings))
    handlers.drop_expired_token_keys(db, worker, frozen_clock.now())
    assert [key.active for key in keyring.list_keys(db, KeyPurpose.TOKEN)] == [True]
