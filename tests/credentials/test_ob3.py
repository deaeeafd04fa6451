"""OB 3.0 credential documents: shape, schema validation, identity hashing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from charter.credentials import ob3, statuslist

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


def test_subject_without_id_or_identifier_is_reported() -> None:
    doc = copy.deepcopy(_build())
    del doc["credentialSubject"]["identifier"]  # type: ignore[attr-defined]
    assert ob3.validate_credential(doc) != []


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
