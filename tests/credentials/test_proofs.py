"""eddsa-rdfc-2022 Data Integrity proofs: W3C and 1EdTech vectors, tampering, wrong keys."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from charter.core.errors import Invalid
from charter.credentials import jsonld, proofs
from charter.crypto import dids, keys

VECTORS = Path(__file__).parent / "vectors"
W3C = VECTORS / "vc-di-eddsa"
OB = VECTORS / "ob3-example"


def read(path: Path) -> str:
    return path.read_text()


def w3c_key():
    pair = json.loads(read(W3C / "keyPair.json"))
    return keys.private_key_from_multibase(pair["privateKeyMultibase"])


def ob_signed() -> dict:
    return json.loads(read(OB / "signed-credential.json"))


def ob_public_key():
    vector = json.loads(read(OB / "key-and-hashes.json"))
    return keys.public_key_from_multibase(vector["publicKeyMultibase"])


def test_w3c_vector_canonical_forms_hashes_and_signature_are_reproduced():
    unsigned = json.loads(read(W3C / "unsigned.json"))
    config = json.loads(read(W3C / "proofConfigDataInt.json"))
    assert jsonld.canonicalize(config) == read(W3C / "proofCanonDataInt.txt")
    assert jsonld.canonicalize(unsigned) == read(W3C / "canonDocDataInt.txt")
    proof_hash, doc_hash = proofs.proof_hashes(unsigned, config)
    assert proof_hash.hex() == read(W3C / "proofHashDataInt.txt").strip()
    assert doc_hash.hex() == read(W3C / "docHashDataInt.txt").strip()
    assert (proof_hash + doc_hash).hex() == read(W3C / "combinedHashDataInt.txt").strip()

    created = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
    signed = proofs.create_proof(unsigned, w3c_key(), config["verificationMethod"], created)
    # The vector's proof, as a set of one (as the OB 3.0 schema wants it).
    vector = json.loads(read(W3C / "signedDataInt.json"))
    assert signed == {**vector, "proof": [vector["proof"]]}
    assert signed["proof"][0]["proofValue"] == read(W3C / "sigBTC58DataInt.txt").strip()
    signature_hex = read(W3C / "sigHexDataInt.txt").strip()
    assert w3c_key().sign(proof_hash + doc_hash).hex() == signature_hex


def test_w3c_signed_vector_verifies_with_the_did_key():
    signed = json.loads(read(W3C / "signedDataInt.json"))
    public = dids.resolve_did_key(signed["proof"]["verificationMethod"])
    assert proofs.verify_proof(signed, public)


def test_1edtech_ob_example_is_reproduced_and_verifies():
    vector = json.loads(read(OB / "key-and-hashes.json"))
    signed = ob_signed()
    proof_hash, doc_hash = proofs.proof_hashes(signed, signed["proof"])
    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    config["@context"] = signed["@context"]
    assert jsonld.canonicalize(config) == read(OB / "proof-canon.txt")
    assert proof_hash.hex() == vector["proofHashHex"]
    assert doc_hash.hex() == vector["documentHashHex"]
    assert proofs.verify_proof(signed, ob_public_key())

    private = keys.private_key_from_multibase(vector["secretKeyMultibase"])
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    created = datetime(2010, 1, 1, 19, 23, 24, tzinfo=UTC)
    resigned = proofs.create_proof(unsigned, private, vector["verificationMethod"], created)
    assert resigned["proof"] == [signed["proof"]]
    assert resigned["proof"][0]["proofValue"] == vector["proofValue"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["credentialSubject"]["achievement"].__setitem__("name", "Leadership"),
        lambda d: d["issuer"].__setitem__("name", "Evil Corp"),
        lambda d: d.__setitem__("validFrom", "2010-01-02T00:00:00Z"),
        lambda d: d["credentialSubject"].__setitem__("id", "did:example:someone-else"),
        lambda d: d["proof"].__setitem__("created", "2010-01-01T19:23:25Z"),
        lambda d: d["proof"].__setitem__(
            "verificationMethod", "https://example.edu/issuers/565049#key-2"
        ),
        lambda d: d["proof"].__setitem__(
            "proofValue", d["proof"]["proofValue"][:-2] + d["proof"]["proofValue"][-1:] + "1"
        ),
        lambda d: d["proof"].__setitem__("proofValue", "z" + "1" * 20),
        lambda d: d["proof"].__setitem__("proofValue", "not multibase"),
        lambda d: d["proof"].__setitem__("cryptosuite", "eddsa-jcs-2022"),
        lambda d: d["proof"].__setitem__("proofPurpose", "authentication"),
        lambda d: d.__setitem__("partnerTier", "gold"),
        lambda d: d.pop("proof"),
    ],
    ids=[
        "achievement-name",
        "issuer-name",
        "validFrom",
        "subject-id",
        "created",
        "verificationMethod",
        "proofValue",
        "short-proofValue",
        "garbage-proofValue",
        "cryptosuite",
        "proofPurpose",
        "undefined-term-added",
        "no-proof",
    ],
)
def test_tampered_credential_fails_verification(tamper):
    signed = ob_signed()
    tamper(signed)
    assert not proofs.verify_proof(signed, ob_public_key())


def test_wrong_key_fails_verification():
    other = keys.generate_private_key().public_key()
    assert not proofs.verify_proof(ob_signed(), other)


def test_signed_credential_round_trips_with_a_did_key():
    private = keys.generate_private_key()
    did = dids.did_key_from_public(private.public_key())
    unsigned = {k: v for k, v in ob_signed().items() if k != "proof"}
    unsigned["issuer"] = {**unsigned["issuer"], "id": did}
    created = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    signed = proofs.create_proof(unsigned, private, dids.did_key_verification_method(did), created)
    assert signed["proof"][0]["created"] == "2025-03-01T12:00:00Z"
    assert "proof" not in unsigned
    method = signed["proof"][0]["verificationMethod"]
    assert proofs.verify_proof(signed, dids.resolve_did_key(method))
    # The same proof on its own (the form of credentials issued before proof sets) verifies.
    assert proofs.verify_proof(
        {**signed, "proof": signed["proof"][0]}, dids.resolve_did_key(method)
    )


def test_a_proof_set_verifies_when_one_of_its_proofs_is_by_the_key():
    private = keys.generate_private_key()
    did = dids.did_key_from_public(private.public_key())
    unsigned = {k: v for k, v in ob_signed().items() if k != "proof"}
    unsigned["issuer"] = {**unsigned["issuer"], "id": did}
    created = datetime(2025, 3, 1, tzinfo=UTC)
    signed = proofs.create_proof(unsigned, private, dids.did_key_verification_method(did), created)
    public = private.public_key()
    other = {**ob_signed()["proof"]}
    assert proofs.verify_proof({**signed, "proof": [other, *signed["proof"]]}, public)
    assert not proofs.verify_proof({**signed, "proof": [other]}, public)
    assert not proofs.verify_proof({**signed, "proof": []}, public)
    assert proofs.proofs_of(signed) == signed["proof"]
    assert proofs.proofs_of({**signed, "proof": other}) == [other]


def test_signing_refuses_documents_with_dropped_terms():
    unsigned = {k: v for k, v in ob_signed().items() if k != "proof"}
    unsigned["credentialSubject"]["achievement"]["partnerTier"] = "gold"
    created = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(Invalid, match="partnerTier") as caught:
        proofs.create_proof(unsigned, keys.generate_private_key(), "did:key:z#z", created)
    assert caught.value.errors[0].field == "credentialSubject.achievement.partnerTier"


def test_signing_refuses_an_already_signed_document():
    with pytest.raises(Invalid, match="already signed"):
        proofs.create_proof(
            copy.deepcopy(ob_signed()),
            keys.generate_private_key(),
            "did:key:z#z",
            datetime(2025, 1, 1, tzinfo=UTC),
        )
