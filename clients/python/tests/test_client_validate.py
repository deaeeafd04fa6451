"""Online validation: only a signed answer to this request is believed; during an outage the
cache stands in for the grace period, then the client refuses."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from charter_client import Refused
from handmade import START, SigningKey, license_claims, make_token, sign_answer


def test_a_signed_valid_answer_is_believed(server, make_client):
    result = make_client().validate(feature="analytics", region="emea", country="DE")

    assert result.valid
    assert result.code == "VALID"
    assert result.online
    assert result.license_id == "lic_1"
    assert result.checked_at == START
    asked = server.validations[0]
    assert asked["fingerprint"] == "machine-1"
    assert asked["feature"] == "analytics"
    assert len(asked["nonce"]) >= 16


def test_each_request_sends_a_fresh_nonce(server, make_client):
    client = make_client()
    client.validate()
    client.validate()
    assert server.validations[0]["nonce"] != server.validations[1]["nonce"]


def test_a_signed_refusal_is_reported(server, make_client):
    server.code = "REVOKED"
    result = make_client().validate()
    assert not result.valid
    assert result.code == "REVOKED"


def _replay(recorded: dict):
    """Answer every request with the answer recorded for the first one."""

    def tamper(asked, body, headers):
        if not recorded:
            recorded.update(status=200, body=body, headers=headers)
        return recorded["status"], recorded["body"], recorded["headers"]

    return tamper


def test_a_replayed_answer_is_not_believed(server, make_client):
    client = make_client()
    server.tamper = _replay({})
    assert client.validate().valid

    result = client.validate()

    assert not result.valid
    assert result.code == "UNVERIFIED"
    assert "nonce" in result.detail


def test_a_forged_signature_is_not_believed(server, make_client):
    forger = SigningKey()
    forger_kid_is_server_kid = server.signer

    def tamper(asked, body, headers):
        forged = sign_answer(forger, body=body, nonce=asked["nonce"], created=1)
        # The forger claims the server's key id.
        forged["Signature-Input"] = forged["Signature-Input"].replace(
            forger.kid, forger_kid_is_server_kid.kid
        )
        return 200, body, forged

    server.tamper = tamper
    result = make_client().validate()
    assert result.code == "UNVERIFIED"
    assert "does not verify" in result.detail


def test_a_changed_body_does_not_match_its_digest(server, make_client):
    def tamper(asked, body, headers):
        richer = body.replace(b'"code":"REVOKED"', b'"code":"VALID"').replace(
            b'"valid":false', b'"valid":true'
        )
        return 200, richer, headers

    server.code = "REVOKED"
    server.tamper = tamper
    result = make_client().validate()
    assert result.code == "UNVERIFIED"
    assert "Content-Digest" in result.detail


def test_a_digest_of_another_body_breaks_nothing_but_is_caught(server, make_client):
    def tamper(asked, body, headers):
        other = body.replace(b'"valid":true', b'"valid":false')
        signed = sign_answer(
            server.signer, body=body, nonce=asked["nonce"], created=1, digest_of=other
        )
        return 200, body, signed

    server.tamper = tamper
    result = make_client().validate()
    assert result.code == "UNVERIFIED"
    assert "Content-Digest" in result.detail


def test_an_answer_signed_for_another_status_is_not_believed(server, make_client):
    def tamper(asked, body, headers):
        # Signed as a 200, served under another status that the client reads as an answer.
        signed = sign_answer(server.signer, body=body, nonce=asked["nonce"], created=1, status=203)
        return 200, body, signed

    server.tamper = tamper
    result = make_client().validate()
    assert result.code == "UNVERIFIED"
    assert "does not verify" in result.detail


def test_an_answer_with_another_tag_is_not_believed(server, make_client):
    def tamper(asked, body, headers):
        return (
            200,
            body,
            sign_answer(
                server.signer, body=body, nonce=asked["nonce"], created=1, tag="other-purpose"
            ),
        )

    server.tamper = tamper
    assert make_client().validate().code == "UNVERIFIED"


def test_an_unsigned_answer_is_not_believed(server, make_client):
    server.tamper = lambda asked, body, headers: (200, body, {})
    assert make_client().validate().code == "UNVERIFIED"


def test_an_unknown_kid_fetches_the_key_set_once_more(server, make_client):
    client = make_client()
    assert client.validate().valid
    rotated = SigningKey()
    server.keys.insert(0, rotated)
    server.signer = rotated

    assert client.validate().valid
    assert server.jwks_requests == 2

    stranger = SigningKey()
    server.signer = stranger
    result = client.validate()
    assert result.code == "UNVERIFIED"
    assert "not in the key set" in result.detail
    assert server.jwks_requests == 3


def test_malformed_input_raises_the_servers_refusal(server, make_client):
    def tamper(asked, body, headers):
        problem = {
            "type": "/problems/invalid",
            "title": "Invalid",
            "status": 422,
            "detail": "key: mistyped",
            "errors": [{"field": "key", "detail": "the check character does not match"}],
        }
        return 422, json.dumps(problem).encode(), {"Content-Type": "application/problem+json"}

    server.tamper = tamper
    with pytest.raises(Refused) as raised:
        make_client().validate()
    assert raised.value.status == 422
    assert raised.value.code == "invalid"
    assert "key: the check character" in raised.value.detail


def test_an_outage_is_bridged_by_the_last_answer_for_the_grace_period(server, make_client, clock):
    client = make_client()
    assert client.validate(feature="analytics").valid
    server.up = False

    clock.advance(timedelta(days=2, hours=23))
    bridged = client.validate(feature="analytics")
    assert bridged.valid
    assert not bridged.online
    assert bridged.source == "answer"
    assert bridged.offline_until == START + timedelta(days=3)

    clock.advance(timedelta(hours=2))
    refused = client.validate(feature="analytics")
    assert not refused.valid
    assert refused.code == "UNREACHABLE"
    assert "grace period" in refused.detail


def test_a_question_never_answered_is_refused_offline_without_a_token(server, make_client):
    client = make_client()
    assert client.validate().valid
    server.up = False
    result = client.validate(feature="sso")
    assert result.code == "UNREACHABLE"
    assert "no offline token" in result.detail


def test_the_offline_token_answers_new_questions_within_the_grace(server, make_client, clock):
    client = make_client()
    assert client.validate().valid
    client.cache.write_text(client._token_name, make_token(server.signer, license_claims(START)))
    server.up = False
    clock.advance(timedelta(days=1))

    assert client.validate(feature="analytics", region="emea").source == "token"
    assert client.validate(feature="sso").code == "UNREACHABLE"
    clock.advance(timedelta(days=2, minutes=1))
    assert client.validate(feature="analytics").code == "UNREACHABLE"


def test_a_5xx_is_an_outage_too(server, make_client, clock):
    client = make_client()
    assert client.validate().valid
    server.tamper = lambda asked, body, headers: (503, b"busy", {})
    result = client.validate()
    assert result.valid
    assert not result.online


def test_a_signed_refusal_ends_the_grace(server, make_client):
    client = make_client()
    assert client.validate().valid
    client.cache.write_text(client._token_name, make_token(server.signer, license_claims(START)))
    server.code = "REVOKED"
    assert client.validate().code == "REVOKED"

    server.up = False
    result = client.validate()
    assert result.code == "UNREACHABLE"
    assert client.cached_token() is None


def test_an_edited_cache_is_not_believed(server, make_client, clock, tmp_path):
    client = make_client()
    assert client.validate().valid
    state_file = next((tmp_path / "cache").glob("state-*.json"))
    assert state_file.stat().st_mode & 0o777 == 0o600
    state = json.loads(state_file.read_text())
    for stored in state["answers"].values():
        stored["headers"]["signature-input"] = stored["headers"]["signature-input"].replace(
            f"created={int(START.timestamp())}",
            f"created={int((START + timedelta(days=30)).timestamp())}",
        )
    state_file.write_text(json.dumps(state))
    server.up = False
    clock.advance(timedelta(days=10))

    assert client.validate().code == "UNREACHABLE"


def test_activations_need_a_fingerprint(make_client):
    with pytest.raises(ValueError, match="fingerprint"):
        make_client(fingerprint=None).heartbeat()


def test_an_unreachable_server_during_activation_raises(make_client, server):
    from charter_client import Unreachable

    server.up = False
    with pytest.raises(Unreachable):
        make_client().activate("emea", "Acme GmbH")


def test_a_transport_timeout_is_an_outage(make_client, server):
    client = make_client()
    assert client.validate().valid

    def timeout(request):
        raise httpx.ReadTimeout("slow", request=request)

    client._http._transport = httpx.MockTransport(timeout)
    assert not client.validate().online
