"""Offline tokens: a token verifies against the cached key set alone, and every RFC 8725 check
refuses a token that breaks it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from charter_client import TokenRejected
from charter_client.jose import KeySet, b64url_encode, verify_jwt
from handmade import BASE_URL, PRODUCT, START, SigningKey, license_claims, make_token


def _keys(*keys: SigningKey) -> KeySet:
    return KeySet({"keys": [key.jwk() for key in keys]})


def _verify(token: str, keys: KeySet, *, now: float | None = None) -> dict:
    return verify_jwt(
        token,
        keys,
        typ="license+jwt",
        issuer=BASE_URL,
        audience=PRODUCT,
        now=START.timestamp() if now is None else now,
    )


def test_a_license_token_verifies_and_states_the_license(server, make_client, tmp_path):
    key = server.signer
    token = make_token(key, license_claims(START))
    client = make_client()

    claims = client.verify_token(token)

    assert claims.license_id == "lic_1"
    assert claims.entitlements == ("analytics", "api_access")
    assert claims.regions == ("emea",)
    assert claims.expires_at == START + timedelta(days=7)
    assert claims.covers(feature="analytics", region="emea", country="DE")
    assert not claims.covers(feature="sso")
    # The key set was fetched once and cached: a second client verifies offline.
    server.up = False
    assert make_client().verify_token(token).license_id == "lic_1"
    assert server.jwks_requests == 1
    cached = next((tmp_path / "cache").glob("jwks-*.json"))
    assert cached.stat().st_mode & 0o777 == 0o600


def test_an_expired_token_is_refused(server):
    token = make_token(server.signer, license_claims(START))
    keys = _keys(server.signer)
    # Within the leeway it still holds; past it, not.
    _verify(token, keys, now=(START + timedelta(days=7, seconds=30)).timestamp())

    with pytest.raises(TokenRejected, match="expired"):
        _verify(token, keys, now=(START + timedelta(days=7, minutes=2)).timestamp())


def test_a_token_not_yet_valid_is_refused(server):
    claims = license_claims(START, nbf=int((START + timedelta(hours=1)).timestamp()))
    with pytest.raises(TokenRejected, match="not valid before"):
        _verify(make_token(server.signer, claims), _keys(server.signer))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "OTHER"}, "audience"),
        ({"aud": ["OTHER", "MORE"]}, "audience"),
        ({"iss": "https://evil.example.com"}, "issuer"),
        ({"exp": None}, "NumericDate exp"),
        ({"nbf": "soon"}, "NumericDate nbf"),
    ],
)
def test_wrong_registered_claims_are_refused(server, overrides, reason):
    token = make_token(server.signer, license_claims(START, **overrides))
    with pytest.raises(TokenRejected, match=reason):
        _verify(token, _keys(server.signer))


def test_an_audience_list_naming_the_product_holds(server):
    token = make_token(server.signer, license_claims(START, aud=["OTHER", PRODUCT]))
    assert _verify(token, _keys(server.signer))["license"] == "lic_1"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": "EdDSA", "typ": "license+jwt"}, "algorithm 'EdDSA'"),
        ({"alg": "none", "typ": "license+jwt"}, "algorithm 'none'"),
        ({"alg": "HS256", "typ": "license+jwt"}, "algorithm 'HS256'"),
        ({"alg": "Ed25519", "typ": "JWT"}, "type 'JWT'"),
        ({"alg": "Ed25519", "typ": "application/license+jwt"}, "type"),
        ({"alg": "Ed25519"}, "type None"),
        ({"alg": "Ed25519", "typ": "license+jwt", "crit": ["exp"]}, "not understood"),
    ],
)
def test_wrong_headers_are_refused(server, header, reason):
    token = make_token(server.signer, license_claims(START), header={**header, "kid": "x"})
    with pytest.raises(TokenRejected, match=reason):
        _verify(token, _keys(server.signer))


def test_an_unknown_kid_is_refused(server):
    stranger = SigningKey()
    token = make_token(stranger, license_claims(START))
    with pytest.raises(TokenRejected, match="not in the key set"):
        _verify(token, _keys(server.signer))


def test_a_bad_signature_is_refused(server):
    forger = SigningKey()
    token = make_token(server.signer, license_claims(START), signer=forger)
    with pytest.raises(TokenRejected, match="signature does not verify"):
        _verify(token, _keys(server.signer))


def test_a_changed_payload_breaks_the_signature(server):
    token = make_token(server.signer, license_claims(START))
    head, _, signature = token.split(".")
    richer = b64url_encode(json.dumps(license_claims(START, seats=1000)).encode())
    with pytest.raises(TokenRejected, match="signature does not verify"):
        _verify(f"{head}.{richer}.{signature}", _keys(server.signer))


def test_padding_and_duplicate_header_members_are_refused(server):
    token = make_token(server.signer, license_claims(START))
    head, payload, signature = token.split(".")
    with pytest.raises(TokenRejected, match="base64url"):
        _verify(f"{head}==.{payload}.{signature}", _keys(server.signer))
    twice = b64url_encode(
        b'{"alg":"Ed25519","alg":"none","typ":"license+jwt","kid":"'
        + server.signer.kid.encode()
        + b'"}'
    )
    with pytest.raises(TokenRejected, match="not base64url JSON"):
        _verify(f"{twice}.{payload}.{signature}", _keys(server.signer))


def test_a_jwks_key_whose_kid_is_not_its_thumbprint_is_not_trusted(server):
    jwk = {**server.signer.jwk(), "kid": "chosen-by-someone"}
    token = make_token(
        server.signer,
        license_claims(START),
        header={"alg": "Ed25519", "typ": "license+jwt", "kid": "chosen-by-someone"},
    )
    with pytest.raises(TokenRejected, match="not in the key set"):
        _verify(token, KeySet({"keys": [jwk]}))


def test_a_token_for_another_product_is_refused_by_the_client(server, make_client):
    token = make_token(server.signer, license_claims(START, product="OTHER"))
    with pytest.raises(TokenRejected, match="product"):
        make_client().verify_token(token)


def test_a_rotated_key_is_fetched_once_when_asked(server, make_client):
    client = make_client()
    client.refresh_keys()
    rotated = SigningKey()
    server.keys.append(rotated)
    token = make_token(rotated, license_claims(START))

    with pytest.raises(TokenRejected, match="not in the key set"):
        client.verify_token(token)
    assert client.verify_token(token, refresh_keys=True).license_id == "lic_1"
    assert server.jwks_requests == 2
