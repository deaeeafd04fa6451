"""did:key and did:web identifiers and documents."""

import pytest

from charter.core.errors import Invalid
from charter.crypto import dids, keys, multibase

W3C_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def test_did_key_round_trips_to_the_same_public_key():
    public = keys.generate_private_key().public_key()
    did = dids.did_key_from_public(public)
    assert did.startswith("did:key:z6Mk")
    method = dids.did_key_verification_method(did)
    assert method == f"{did}#{did.removeprefix('did:key:')}"
    for reference in (did, method):
        resolved = dids.resolve_did_key(reference)
        assert keys.raw_public_key(resolved) == keys.raw_public_key(public)


def test_did_key_with_a_foreign_fragment_or_key_type_is_refused():
    with pytest.raises(Invalid):
        dids.resolve_did_key(W3C_DID + "#z6MkOther")
    secp = "did:key:" + multibase.encode_base58btc(b"\xe7\x01" + bytes(33))
    with pytest.raises(Invalid):
        dids.resolve_did_key(secp)
    with pytest.raises(Invalid):
        dids.resolve_did_key("did:web:example.com")


@pytest.mark.parametrize(
    ("url", "did", "document_url"),
    [
        ("https://example.com", "did:web:example.com", "https://example.com/.well-known/did.json"),
        ("https://Example.com/", "did:web:example.com", "https://example.com/.well-known/did.json"),
        (
            "https://example.com:8443",
            "did:web:example.com%3A8443",
            "https://example.com:8443/.well-known/did.json",
        ),
        (
            "https://w3c-ccg.github.io/user/alice",
            "did:web:w3c-ccg.github.io:user:alice",
            "https://w3c-ccg.github.io/user/alice/did.json",
        ),
    ],
)
def test_did_web_from_url(url, did, document_url):
    assert dids.did_web_from_url(url) == did
    assert dids.did_web_document_url(did) == document_url


@pytest.mark.parametrize(
    "url", ["example.com", "ftp://example.com", "https://example.com/?q=1", "https://u:p@x.org"]
)
def test_did_web_from_a_bad_url_is_refused(url):
    with pytest.raises(Invalid, match="url"):
        dids.did_web_from_url(url)


def test_did_web_document_keeps_retired_keys_for_assertion():
    current = keys.generate_private_key().public_key()
    retired = keys.generate_private_key().public_key()
    did = "did:web:badges.example.com"
    document = dids.did_web_document(did, [("key-2", current), ("key-1", retired)])
    assert document["assertionMethod"] == [f"{did}#key-2", f"{did}#key-1"]
    methods = {method["id"]: method for method in document["verificationMethod"]}
    assert methods[f"{did}#key-1"]["publicKeyMultibase"] == keys.public_key_multibase(retired)
    assert methods[f"{did}#key-1"]["controller"] == did
    assert methods[f"{did}#key-1"]["type"] == "Multikey"


@pytest.mark.parametrize(
    "did",
    [
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:web:example.com",
        "did:web:w3c-ccg.github.io:user:alice",
        "did:web:localhost%3A8443:people:ada",
    ],
)
def test_a_did_key_or_did_web_is_a_usable_holder_did(did: str) -> None:
    assert dids.holder_did_problem(did) is None


@pytest.mark.parametrize(
    "did",
    [
        "did:example:123",
        "did:key:abc",
        "did:key:z0OIl",  # characters outside base58btc
        "did:key:" + "z6Mk" + "1" * 200,
        "did:web:",
        "did:web:exa mple.com",
        "did:web:example.com:",
        "did:web:-example.com",
        "https://example.com/ada",
        "mailto:ada@example.com",
    ],
)
def test_other_holder_dids_are_refused(did: str) -> None:
    assert dids.holder_did_problem(did) is not None
