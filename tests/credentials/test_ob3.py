"""OB 3.0 credential documents: shape, schema validation, identity hashing."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources

import pytest

from charter.credentials import ob3, statuslist
from charter.credentials.resolver import OfflineResolver
from charter.credentials.verify import verify_credential

EMAIL = "dana.lee@firm.example"


def _build(**overrides: object) -> dict[str, object]:
    args: dict[str, object] = {
        "credential_id": "urn:uuid:6c1f4d8e-7f0a-4b4e-9d7c-2a9b1f0e5c33",
        "issuer": ob3.IssuerProfile(
            id="did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
            name="Acme Partner Program",
            url="https://partners.acme.example",
        ),
        "achievement": ob3.AchievementInfo(
            id="https://partners.acme.example/certifications/admin",
            name="Acme Certified Administrator",
            description="Administers Acme for customers.",
            criteria_narrative="Pass the administrator exam.",
        ),
        "subject": ob3.SubjectInfo(email=EMAIL, salt="s4lt"),
        "valid_from": datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
        "valid_until": None,
        "status_entries": (),
    }
    args.update(overrides)
    return ob3.build_credential(**args)  # type: ignore[arg-type]


def test_identity_hash_matches_the_spec_example() -> None:
    assert ob3.identity_hash("a@example.com", "Kosher") == (
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    )


def test_built_credential_has_the_ob3_shape_and_validates() -> None:
    doc = _build()
    assert doc["@context"] == [ob3.VC_V2_CONTEXT, ob3.OB_CONTEXT]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["validFrom"] == "2025-03-01T12:00:00Z"
    assert "validUntil" not in doc
    subject = doc["credentialSubject"]
    assert isinstance(subject, dict)
    assert subject["achievement"]["achievementType"] == "Certification"
    assert subject["identifier"][0]["identityHash"] == ob3.identity_hash(EMAIL, "s4lt")
    assert "id" not in subject  # no holder DID known yet
    assert ob3.validate_credential(doc) == []


def test_full_credential_validates_with_status_and_expiry() -> None:
    entry = statuslist.status_entry("https://partners.acme.example/status/r/1", 9, "revocation")
    doc = _build(
        issuer=ob3.IssuerProfile(
            id="https://partners.acme.example/issuer",
            name="Acme",
            url="https://partners.acme.example",
            email="partners@acme.example",
            image_url="https://partners.acme.example/logo.png",
        ),
        subject=ob3.SubjectInfo(email=EMAIL, salt="x", holder_did="did:web:dana.example"),
        valid_until=datetime(2027, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
        status_entries=[entry],
    )
    assert doc["validUntil"] == "2027-03-01T12:00:00Z"
    assert doc["credentialStatus"] == entry
    assert doc["credentialSubject"]["id"] == "did:web:dana.example"  # type: ignore[index]
    assert ob3.validate_credential(doc) == []


def test_email_never_appears_in_clear() -> None:
    text = json.dumps(_build()).lower()
    assert EMAIL.lower() not in text
    assert "dana.lee" not in text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("validFrom",), '"validFrom" is a required property'),
        (("issuer",), '"issuer" is a required property'),
        (("credentialSubject", "achievement", "criteria"), '"criteria" is a required property'),
        (("credentialSubject", "achievement", "name"), '"name" is a required property'),
    ],
)
def test_missing_fields_are_reported(path: tuple[str, ...], expected: str) -> None:
    doc = copy.deepcopy(_build())
    target = doc
    for key in path[:-1]:
        target = target[key]  # type: ignore[assignment]
    del target[path[-1]]
    errors = ob3.validate_credential(doc)
    assert any(expected in error for error in errors), errors


def test_subject_without_id_or_identifier_is_reported_by_the_verifier() -> None:
    doc = copy.deepcopy(_build())
    del doc["credentialSubject"]["identifier"]  # type: ignore[attr-defined]
    # The official schema leaves this to verification (OB 3.0 verification, step 1).
    assert ob3.validate_credential(doc) == []
    verdict = verify_credential(doc, resolver=OfflineResolver(), now=datetime.now(UTC))
    assert not verdict.check("schema").ok
    assert "needs an id or an identifier" in verdict.check("schema").detail


def test_the_schema_is_1edtechs_file_byte_for_byte() -> None:
    folder = resources.files("charter.credentials").joinpath("schemas_ob3")
    data = folder.joinpath(ob3.SCHEMA_FILE).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == "86a141ff0c1b1a6b4e08460f786a8ffe0f737d8256a86243d134a2e6450efe4d"
    assert digest in folder.joinpath("README.md").read_text(encoding="utf-8")
    schema = json.loads(data)
    assert schema["$schema"] == "https://json-schema.org/draft/2019-09/schema#"
    assert schema["properties"]["proof"]["type"] == "array"


def test_a_single_proof_object_fails_the_schema_and_a_proof_array_passes() -> None:
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "proofPurpose": "assertionMethod",
        "verificationMethod": "did:key:z6Mk#z6Mk",
        "proofValue": "z1",
    }
    single = {**_build(), "proof": proof}
    assert any(error.startswith("proof:") for error in ob3.validate_credential(single))
    assert ob3.validate_credential({**_build(), "proof": [proof]}) == []
    # What a verifier was given: a single proof is read as a set of one.
    assert ob3.validate_received(single) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("validFrom", "2025-03-01T12:00:00"), ("validUntil", "1 March 2027"), ("awardedDate", "x")],
)
def test_a_datetime_without_timezone_or_malformed_is_reported(field: str, value: str) -> None:
    doc = {**_build(), field: value}
    assert any(error.startswith(field) for error in ob3.validate_credential(doc))


def test_awarded_date_keeps_the_award_date_and_valid_from_is_this_credentials() -> None:
    awarded = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    doc = _build(awarded_at=awarded)
    assert doc["awardedDate"] == "2024-03-01T09:30:00Z"
    assert doc["validFrom"] == "2025-03-01T12:00:00Z"
    assert ob3.validate_credential(doc) == []
    with pytest.raises(ValueError, match="awarded_at"):
        _build(awarded_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_wrong_context_order_and_status_array_are_reported() -> None:
    doc = copy.deepcopy(_build())
    doc["@context"] = [ob3.OB_CONTEXT, ob3.VC_V2_CONTEXT]
    entry = statuslist.status_entry("https://x.example/s", 1, "revocation")
    doc["credentialStatus"] = [entry, entry]
    errors = ob3.validate_credential(doc)
    assert any(e.startswith("@context") for e in errors), errors
    assert any(e.startswith("credentialStatus") for e in errors), errors


def test_more_than_one_status_entry_is_refused() -> None:
    entries = [
        statuslist.status_entry("https://x.example/r", 1, "revocation"),
        statuslist.status_entry("https://x.example/s", 1, "suspension"),
    ]
    with pytest.raises(ValueError, match="at most one credentialStatus"):
        _build(status_entries=entries)


@pytest.mark.parametrize(
    "overrides",
    [
        {"credential_id": "not-a-url"},
        {"valid_from": datetime(2025, 1, 1)},
        {
            "valid_from": datetime(2025, 1, 2, tzinfo=UTC),
            "valid_until": datetime(2025, 1, 1, tzinfo=UTC),
        },
        {"subject": ob3.SubjectInfo(email="", salt="x")},
    ],
)
def test_bad_input_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must|required"):
        _build(**overrides)


HOLDER_KEY = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


@pytest.mark.parametrize(
    "did",
    [
        HOLDER_KEY,
        "did:web:example.com",
        "did:web:w3c-ccg.github.io:user:alice",
        "did:web:localhost%3A8443:people:ada",
    ],
)
def test_a_holder_did_is_the_subject_id_beside_the_hashed_email(did: str) -> None:
    doc = _build(subject=ob3.SubjectInfo(email=EMAIL, salt="s4lt", holder_did=did))
    subject = doc["credentialSubject"]
    assert isinstance(subject, dict)
    assert subject["id"] == did
    assert subject["identifier"][0]["identityHash"] == ob3.identity_hash(EMAIL, "s4lt")
    assert ob3.validate_credential(doc) == []


@pytest.mark.parametrize("value", ["https://example.com/ada", "mailto:ada@example.com", "did:"])
def test_a_subject_id_that_is_not_a_did_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="holder DID must be a DID"):
        _build(subject=ob3.SubjectInfo(email=EMAIL, salt="s4lt", holder_did=value))
