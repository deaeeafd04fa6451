"""RFC 9421 signatures and RFC 9530 digests against the RFCs' own test vectors."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.crypto import httpsig

# RFC 9421 Appendix B.1.4: test-key-ed25519 (the JWK's "d").
ED25519_SEED = base64.urlsafe_b64decode("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU=")
ED25519_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"


def test_rfc9421_b26_ed25519_signature_base_and_signature():
    key = Ed25519PrivateKey.from_private_bytes(ED25519_SEED)
    assert base64.urlsafe_b64encode(key.public_key().public_bytes_raw()).decode() == (
        ED25519_X + "="
    )
    components = [
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("@method", "POST"),
        ("@path", "/foo"),
        ("@authority", "example.com"),
        ("content-type", "application/json"),
        ("content-length", "18"),
    ]
    params = [("created", 1618884473), ("keyid", "test-key-ed25519")]
    rendered = httpsig.signature_params([name for name, _ in components], params)

    assert httpsig.signature_base(components, rendered) == (
        b'"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
        b'"@method": POST\n'
        b'"@path": /foo\n'
        b'"@authority": example.com\n'
        b'"content-type": application/json\n'
        b'"content-length": 18\n'
        b'"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
        b'"content-length");created=1618884473;keyid="test-key-ed25519"'
    )
    signed = httpsig.sign(key, label="sig-b26", components=components, params=params)
    assert signed.signature_input == (
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"'
    )
    assert signed.signature == (
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp"
        "5WPpBKRCw==:"
    )


def test_rfc9530_content_digest():
    # RFC 9530 Appendix B.1's body and its sha-256 digest.
    assert httpsig.content_digest(b'{"hello": "world"}') == (
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    )


def test_structured_field_strings_are_escaped_or_refused():
    assert httpsig.signature_params(["@status"], [("nonce", 'a"b\\c')]) == (
        '("@status");nonce="a\\"b\\\\c"'
    )
    with pytest.raises(ValueError, match="printable ASCII"):
        httpsig.signature_params(["@status"], [("nonce", "new\nline")])
