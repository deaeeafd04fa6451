"""Cross-checks with the independent Digital Bazaar verifier (interop/verify.mjs)."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from charter.credentials import ob3, statuslist
from tests.interop.conftest import node_sign, node_verify

VECTORS = Path(__file__).resolve().parent / "vectors"

EXAMPLES_V2_URL = "https://www.w3.org/ns/credentials/examples/v2"
NOW = "2025-06-01T00:00:00Z"
ISSUER_SEED = "9b" * 32
OTHER_SEED = "5c" * 32


def _vector(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


def _examples_documents() -> dict[str, Any]:
    return {EXAMPLES_V2_URL: _vector("credentials-examples-v2.jsonld")}


def test_w3c_rdfc_vector_verifies() -> None:
    signed = _vector("w3c-eddsa-rdfc-2022-signedDataInt.json")
    result = node_verify(
        {"credential": signed, "purpose": "jsigs", "documents": _examples_documents()}
    )
    assert result == {"verified": True}


def test_tampered_w3c_vector_fails() -> None:
    signed = _vector("w3c-eddsa-rdfc-2022-signedDataInt.json")
    signed["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    result = node_verify(
        {"credential": signed, "purpose": "jsigs", "documents": _examples_documents()}
    )
    assert result["verified"] is False


def _ob_example_documents(example: dict[str, Any]) -> dict[str, Any]:
    keys = _vector("1edtech-ob3-key-and-hashes.json")
    vm = {
        "@context": "https://w3id.org/security/multikey/v1",
        "id": keys["verificationMethod"],
        "type": "Multikey",
        "controller": keys["controller"],
        "publicKeyMultibase": keys["publicKeyMultibase"],
    }
    controller = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": keys["controller"],
        "assertionMethod": [vm],
    }
    assert example["issuer"]["id"] == keys["controller"]
    return {keys["verificationMethod"]: vm, keys["controller"]: controller}


def test_1edtech_ob3_example_verifies_with_its_controller_document() -> None:
    example = _vector("1edtech-ob3-signed-credential.json")
    result = node_verify(
        {
            "credential": example,
            "purpose": "vc",
            "now": NOW,
            "documents": _ob_example_documents(example),
        }
    )
    assert result == {"verified": True}


def test_1edtech_ob3_example_fails_without_controller_document() -> None:
    example = _vector("1edtech-ob3-signed-credential.json")
    result = node_verify({"credential": example, "purpose": "vc", "now": NOW})
    assert result["verified"] is False
    assert "offline loader refused" in " ".join(result["error"])


def _did_of(seed_hex: str) -> str:
    # Sign a throwaway document to learn the did:key that sign.mjs derives from the seed.
    probe = {
        "@context": [ob3.VC_V2_CONTEXT],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:probe",
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
    }
    controller: str = node_sign({"credential": probe, "seedHex": seed_hex})["controller"]
    return controller


def _badge(issuer_did: str, status: list[dict[str, str]]) -> dict[str, Any]:
    return ob3.build_credential(
        credential_id="urn:uuid:0f1b6a64-3cde-4c36-9e8c-3f3f1b0b7d21",
        issuer=ob3.IssuerProfile(
            id=issuer_did,
            name="Acme Software Partner Program",
            url="https://partners.acme.example",
            email="partners@acme.example",
            image_url="https://partners.acme.example/logo.png",
        ),
        achievement=ob3.AchievementInfo(
            id="https://partners.acme.example/certifications/cloud-architect",
            name="Acme Certified Cloud Architect",
            description="Designs and operates Acme Cloud deployments for customers.",
            criteria_narrative="Pass the Cloud Architect exam with a score of 80% or more.",
            criteria_url="https://partners.acme.example/certifications/cloud-architect/criteria",
            image_url="https://partners.acme.example/badges/cloud-architect.png",
            version="2025.1",
        ),
        subject=ob3.SubjectInfo(
            email="dana@firm.example", salt="c0ffee15", holder_did="did:example:dana"
        ),
        valid_from=datetime(2025, 1, 15, 9, 30, tzinfo=UTC),
        valid_until=datetime(2027, 1, 15, 9, 30, tzinfo=UTC),
        status_entries=status,
    )


def test_ob3_built_credential_verifies_strictly() -> None:
    issuer = _did_of(ISSUER_SEED)
    badge = _badge(issuer, [])
    assert ob3.validate_credential(badge) == []
    signed = node_sign({"credential": badge, "seedHex": ISSUER_SEED})["signed"]
    result = node_verify({"credential": signed, "purpose": "vc", "now": NOW})
    assert result == {"verified": True}


def test_ob3_credential_signed_by_another_key_is_refused() -> None:
    # issuer.id is not the controller of the signing key: the strict verifier must say no.
    issuer = _did_of(ISSUER_SEED)
    signed = node_sign({"credential": _badge(issuer, []), "seedHex": OTHER_SEED})["signed"]
    result = node_verify({"credential": signed, "purpose": "vc", "now": NOW})
    assert result["verified"] is False


def _signed_list(issuer: str, list_url: str, bits: statuslist.StatusBits) -> dict[str, Any]:
    unsigned = statuslist.status_list_credential(
        list_url=list_url,
        issuer_id=issuer,
        purpose="revocation",
        encoded_list=statuslist.encode(bits),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )
    signed: dict[str, Any] = node_sign({"credential": unsigned, "seedHex": ISSUER_SEED})["signed"]
    return signed


def test_status_list_revocation_is_seen_by_node() -> None:
    issuer = _did_of(ISSUER_SEED)
    list_url = "https://partners.acme.example/status/revocation/1"
    index = statuslist.random_free_index(set(), statuslist.MIN_ENTRIES, random.Random(7))
    entry = statuslist.status_entry(list_url, index, "revocation")
    signed_badge = node_sign({"credential": _badge(issuer, [entry]), "seedHex": ISSUER_SEED})[
        "signed"
    ]

    bits = statuslist.StatusBits()
    bits.set(index + 1)  # a neighbour's revocation must not leak onto this badge
    clean = node_verify(
        {
            "credential": signed_badge,
            "purpose": "vc",
            "checkStatus": True,
            "now": NOW,
            "documents": {list_url: _signed_list(issuer, list_url, bits)},
        }
    )
    assert clean["verified"] is True
    assert clean["statusResults"] == [{"purpose": "revocation", "status": False}]

    bits.set(index)
    revoked = node_verify(
        {
            "credential": signed_badge,
            "purpose": "vc",
            "checkStatus": True,
            "now": NOW,
            "documents": {list_url: _signed_list(issuer, list_url, bits)},
        }
    )
    # DB reports verified=true for a revoked credential; the status bit carries the news.
    assert revoked["statusResults"] == [{"purpose": "revocation", "status": True}]


def test_tampered_status_list_is_refused() -> None:
    issuer = _did_of(ISSUER_SEED)
    list_url = "https://partners.acme.example/status/revocation/2"
    entry = statuslist.status_entry(list_url, 42, "revocation")
    signed_badge = node_sign({"credential": _badge(issuer, [entry]), "seedHex": ISSUER_SEED})[
        "signed"
    ]
    status_vc = _signed_list(issuer, list_url, statuslist.StatusBits())
    forged = copy.deepcopy(status_vc)
    revoked_bits = statuslist.StatusBits()
    revoked_bits.set(42)
    forged["credentialSubject"]["encodedList"] = statuslist.encode(revoked_bits)
    result = node_verify(
        {
            "credential": signed_badge,
            "purpose": "vc",
            "checkStatus": True,
            "now": NOW,
            "documents": {list_url: forged},
        }
    )
    assert result["verified"] is False


def test_charter_signed_ob3_credential_verifies_in_node() -> None:
    # Charter's own signer (credentials.proofs) against the independent verifier.
    from charter.credentials import proofs
    from charter.crypto import dids, keys

    private_key = keys.generate_private_key()
    did = dids.did_key_from_public(private_key.public_key())
    badge = _badge(did, [])
    signed = proofs.create_proof(
        badge,
        private_key,
        dids.did_key_verification_method(did),
        datetime(2025, 1, 15, 9, 30, 5, tzinfo=UTC),
    )
    assert proofs.verify_proof(signed, private_key.public_key())
    result = node_verify({"credential": signed, "purpose": "vc", "now": NOW})
    assert result == {"verified": True}

    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["achievement"]["name"] = "Acme Certified Grand Master"
    assert node_verify({"credential": tampered, "purpose": "vc", "now": NOW})["verified"] is False
