"""Webhook signatures against the Standard Webhooks reference library: the same signatures for
any key, message id, time and body; secrets spelled as that specification spells them; and the
key of a secret issued before, in the URL-safe alphabet."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from charter.webhooks import signing


def test_new_secrets_are_whsec_and_standard_base64_of_32_bytes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert len(key) == 32
    assert signing.key_bytes(secret) == key
    assert signing.standard_secret(secret) == secret
    assert signing.new_secret() != secret


def test_a_secret_issued_before_keeps_its_key_in_the_standard_alphabet():
    old = "whsec_" + secrets.token_urlsafe(32)
    key = base64.urlsafe_b64decode(old.removeprefix("whsec_") + "=")
    assert signing.key_bytes(old) == key
    translated = signing.standard_secret(old)
    assert base64.b64decode(translated.removeprefix("whsec_"), validate=True) == key
    assert signing.key_bytes(translated) == key


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_a", "whsec_!!!!", "sk_AAAA"])
def test_what_is_not_a_secret_has_no_key(secret):
    with pytest.raises(ValueError, match="secret"):
        signing.key_bytes(secret)


@given(
    key=st.binary(min_size=24, max_size=64),
    message_id=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1),
    timestamp=st.integers(min_value=0, max_value=2**33),
    body=st.binary(max_size=300),
)
def test_signatures_match_the_reference_library(key, message_id, timestamp, body):
    secret = "whsec_" + base64.b64encode(key).decode()
    at = datetime.fromtimestamp(timestamp, tz=UTC)
    expected = Webhook(secret).sign(message_id, at, body)
    assert signing.standard_signature(secret, message_id, timestamp, body) == expected


def test_headers_carry_one_signature_per_secret_in_use_newest_first():
    new, old = signing.new_secret(), signing.new_secret()
    body = b'{"id":"evt_1"}'
    headers = signing.headers([new, old], "whd_1", 1_800_000_000, body)
    assert headers["webhook-id"] == "whd_1"
    assert headers["webhook-timestamp"] == "1800000000"
    assert headers["webhook-signature"].split(" ") == [
        signing.standard_signature(new, "whd_1", 1_800_000_000, body),
        signing.standard_signature(old, "whd_1", 1_800_000_000, body),
    ]
    charter = headers["Charter-Signature"]
    assert charter == signing.signature_header([new, old], 1_800_000_000, body)
    assert signing.verify(charter, body, old, now=1_800_000_010)
    assert not signing.verify(charter, body, old, now=1_800_001_000)
