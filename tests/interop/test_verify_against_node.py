"""Charter's verifier and Digital Bazaar's (interop/verify.mjs) agree, case by case.

Also: credentials signed by the Node stack, with a did:key and with a did:web issuer, verify in
Charter.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.credentials import proofs, statuslist
from charter.credentials.resolver import OfflineResolver
from charter.credentials.verify import VerdictStatus, verify_credential
from charter.crypto import dids, keys
from tests.credentials.test_verify import (
    LIST_URL,
    badge,
    did_key_signer,
    did_web_signer,
    ob_example,
    signed_list,
)
from tests.interop.conftest import node_sign, node_verify

NOW = datetime(2025, 6, 1, tzinfo=UTC)
SEED_HEX = "4d" * 32


@dataclass
class Case:
    """A credential, the documents a verifier needs, the time, and the expected verdict."""

    credential: dict[str, Any]
    expected: VerdictStatus
    now: datetime = NOW
    documents: dict[str, Any] = field(default_factory=dict)


def _valid() -> Case:
    signer = did_key_signer()
    return Case(signer.sign(badge(signer.did)), "valid")


def _tampered() -> Case:
    case = _valid()
    case.credential["credentialSubject"]["achievement"]["name"] = "Acme Grand Master"
    case.expected = "invalid"
    return case


def _wrong_key() -> Case:
    issuer, forger = did_key_signer(1), did_key_signer(5)
    forged = proofs.create_proof(badge(issuer.did), forger.key, issuer.method, NOW)
    return Case(forged, "invalid")


def _wrong_controller() -> Case:
    issuer, other = did_key_signer(1), did_key_signer(5)
    return Case(other.sign(badge(issuer.did)), "invalid")


def _expired() -> Case:
    case = _valid()
    case.now, case.expected = datetime(2027, 6, 1, tzinfo=UTC), "expired"
    return case


def _not_yet_valid() -> Case:
    case = _valid()
    case.now, case.expected = datetime(2024, 6, 1, tzinfo=UTC), "not_yet_valid"
    return case


def _with_status(bit_set: bool) -> Case:
    signer = did_key_signer()
    entry = statuslist.status_entry(LIST_URL, 31337, "revocation")
    listing = signed_list(signer, set_indexes=(31337,) if bit_set else (31336,))
    return Case(
        signer.sign(badge(signer.did, status=entry)),
        "revoked" if bit_set else "valid",
        documents={LIST_URL: listing},
    )


def _did_web() -> Case:
    signer = did_web_signer()
    return Case(signer.sign(badge(signer.did)), "valid", documents=dict(signer.documents))


def _did_web_key_not_listed() -> Case:
    case = _did_web()
    document = copy.deepcopy(next(iter(case.documents.values())))
    document["assertionMethod"] = []
    case.documents = {next(iter(case.documents)): document}
    case.expected = "invalid"
    return case


CASES: dict[str, Callable[[], Case]] = {
    "valid": _valid,
    "tampered field": _tampered,
    "wrong key": _wrong_key,
    "wrong controller": _wrong_controller,
    "expired": _expired,
    "not yet valid": _not_yet_valid,
    "status list, not revoked": lambda: _with_status(False),
    "revoked via status list": lambda: _with_status(True),
    "did:web issuer": _did_web,
    "did:web key not for assertion": _did_web_key_not_listed,
}


def _node_documents(documents: dict[str, Any]) -> dict[str, Any]:
    # jsonld-signatures dereferences the verification method URL itself, fragment included.
    # The DB loader is asked for the DID itself, not for its https URL.
    out = dict(documents)
    for document in documents.values():
        if str(document.get("id", "")).startswith("did:"):
            out[document["id"]] = document
        for method in document.get("verificationMethod", []):
            if isinstance(method, dict):
                out[method["id"]] = {"@context": dids.MULTIKEY_V1_CONTEXT, **method}
    return out


def _node_status(case: Case) -> VerdictStatus:
    """What the Node verifier says, in Charter's vocabulary."""
    result = node_verify(
        {
            "credential": case.credential,
            "purpose": "vc",
            "now": case.now.isoformat(),
            "checkStatus": "credentialStatus" in case.credential,
            "documents": _node_documents(case.documents),
        }
    )
    if not result["verified"]:
        errors = " ".join(result.get("error", []))
        if "validUntil" in errors or "expir" in errors:
            return "expired"
        if "validFrom" in errors:
            return "not_yet_valid"
        return "invalid"
    if any(item["status"] for item in result.get("statusResults", [])):
        return "revoked"
    return "valid"


@pytest.mark.parametrize("name", list(CASES))
def test_charter_and_node_agree(name: str) -> None:
    case = CASES[name]()
    verdict = verify_credential(
        case.credential, resolver=OfflineResolver(case.documents), now=case.now
    )
    assert verdict.status == case.expected, verdict.reason
    assert _node_status(case) == case.expected


def _seed_did() -> str:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEED_HEX))
    return dids.did_key_from_public(key.public_key())


def test_node_signed_did_key_credential_verifies_in_charter() -> None:
    did = _seed_did()
    signed = node_sign({"credential": badge(did), "seedHex": SEED_HEX})
    assert signed["controller"] == did
    verdict = verify_credential(signed["signed"], resolver=OfflineResolver(), now=NOW)
    assert verdict.status == "valid", verdict.reason
    tampered = copy.deepcopy(signed["signed"])
    tampered["issuer"]["name"] = "Someone Else"
    assert verify_credential(tampered, resolver=OfflineResolver(), now=NOW).status == "invalid"


def test_node_signed_did_web_credential_verifies_in_charter() -> None:
    did = "did:web:badges.node.example"
    method = f"{did}#key-1"
    signed = node_sign(
        {
            "credential": badge(did),
            "seedHex": SEED_HEX,
            "controller": did,
            "verificationMethod": method,
        }
    )
    public = keys.public_key_from_multibase(signed["publicKeyMultibase"])
    documents = {
        dids.did_web_document_url(did): dids.did_web_document(did, [("key-1", public)]),
    }
    verdict = verify_credential(signed["signed"], resolver=OfflineResolver(documents), now=NOW)
    assert verdict.status == "valid", verdict.reason
    assert verify_credential(signed["signed"], resolver=OfflineResolver(), now=NOW).status == (
        "invalid"
    )


def test_1edtech_example_agrees() -> None:
    example, documents = ob_example()
    verdict = verify_credential(example, resolver=OfflineResolver(documents), now=NOW)
    assert verdict.status == "valid"
    case = Case(example, "valid", documents=documents)
    # Node dereferences the method URL itself: give it the key document too.
    controller = next(iter(documents.values()))
    method = controller["assertionMethod"][0]
    case.documents = {
        **documents,
        method["id"]: {"@context": dids.MULTIKEY_V1_CONTEXT, **method},
    }
    assert _node_status(case) == "valid"
