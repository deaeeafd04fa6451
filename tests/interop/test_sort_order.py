"""The one place RDFC-1.0 and Digital Bazaar's rdf-canonize disagree: N-Quads sort order.

RDFC-1.0 (and Charter) sort by code point; rdf-canonize sorts JavaScript strings, by UTF-16 code
unit. Two achievement tags that first differ at U+FF01 (full-width '!') and at U+1F600 (an
emoji, a surrogate pair in UTF-16) sort one way in each. Charter refuses to sign such a
credential (no single proof verifies in both worlds) and accepts a proof made under either
order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.core.errors import Invalid
from charter.credentials import jsonld, proofs
from charter.credentials.resolver import OfflineResolver
from charter.credentials.verify import verify_credential
from charter.crypto import dids
from tests.credentials.test_verify import badge
from tests.interop.conftest import node_sign, node_verify

NOW = datetime(2025, 6, 1, tzinfo=UTC)
SEED_HEX = "5e" * 32
CONFLICTING_TAGS = ["\uff01 full-width", "\U0001f600 emoji"]


def _key() -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEED_HEX))
    return key, dids.did_key_from_public(key.public_key())


def _tagged(did: str, tags: list[str]) -> dict[str, Any]:
    document = badge(did)
    document["credentialSubject"]["achievement"]["tag"] = tags
    return document


def _node_verifies(credential: dict[str, Any]) -> bool:
    result = node_verify({"credential": credential, "purpose": "vc", "checkStatus": False})
    return bool(result["verified"])


def test_the_two_orders_really_differ_for_these_tags() -> None:
    _, did = _key()
    document = _tagged(did, CONFLICTING_TAGS)
    canonical = jsonld.canonicalize(document)
    utf16 = jsonld.canonicalize_utf16_order(document)
    assert utf16 != canonical
    assert sorted(utf16.splitlines()) == canonical.splitlines()  # the same quads


def test_charter_refuses_to_sign_it_naming_the_values() -> None:
    key, did = _key()
    with pytest.raises(Invalid) as raised:
        proofs.create_proof(
            _tagged(did, CONFLICTING_TAGS), key, dids.did_key_verification_method(did), NOW
        )
    fields = {error.field for error in raised.value.errors}
    assert fields == {
        "credentialSubject.achievement.tag[0]",
        "credentialSubject.achievement.tag[1]",
    }


def test_a_spec_order_proof_would_fail_in_node_which_is_why_charter_refuses() -> None:
    # Signed by hand under RDFC-1.0's order, past the refusal: Charter accepts it, Node cannot.
    key, did = _key()
    document = _tagged(did, CONFLICTING_TAGS)
    proof = proofs._proof_options(dids.did_key_verification_method(did), NOW)
    config = jsonld.canonicalize({**proof, "@context": document["@context"]})
    text = jsonld.canonicalize(document)
    signed = proofs._signed(document, proof, key, proofs._sha256(config) + proofs._sha256(text))
    assert proofs.verify_proof(signed, key.public_key())
    assert not _node_verifies(signed)


def test_a_node_signed_credential_with_these_tags_verifies_in_charter() -> None:
    _, did = _key()
    signed = node_sign({"credential": _tagged(did, CONFLICTING_TAGS), "seedHex": SEED_HEX})
    credential = signed["signed"]
    assert _node_verifies(credential)
    verdict = verify_credential(credential, resolver=OfflineResolver(), now=NOW)
    assert verdict.status == "valid", verdict.reason
    credential["credentialSubject"]["achievement"]["tag"][1] = "\U0001f600 emojj"
    assert verify_credential(credential, resolver=OfflineResolver(), now=NOW).status == "invalid"


def test_both_kinds_of_character_in_unrelated_places_sign_and_verify_in_node() -> None:
    # Emoji and full-width forms are fine where no two quads first differ at them.
    key, did = _key()
    document = _tagged(did, ["\U0001f600 emoji"])
    document["credentialSubject"]["achievement"]["description"] = "\uff08full-width\uff09"
    signed = proofs.create_proof(document, key, dids.did_key_verification_method(did), NOW)
    assert _node_verifies(signed)
    assert verify_credential(signed, resolver=OfflineResolver(), now=NOW).status == "valid"
