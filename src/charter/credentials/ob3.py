"""Open Badges 3.0 credential documents: values in, unsigned JSON-LD dicts out.

Pure: no database, no clock, no randomness. The caller supplies ids, times, salts and status
entries; signing happens elsewhere (``credentials.proofs``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# Only needed when a 1EdTech* type (e.g. 1EdTechJsonSchemaValidator2019) appears; without it a
# safe-mode JSON-LD processor refuses the relative @type and signing fails.
OB_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"

# 1EdTech's own file, unchanged (provenance and sha256 in schemas_ob3/README.md).
SCHEMA_FILE = "ob_v3p0_achievementcredential_schema.json"


@dataclass(frozen=True)
class IssuerProfile:
    """The issuing organisation; ``id`` must be the controller of the signing key."""

    id: str
    name: str
    url: str
    email: str | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class AchievementInfo:
    """The certification being awarded."""

    id: str
    name: str
    description: str
    criteria_narrative: str
    criteria_url: str | None = None
    image_url: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class SubjectInfo:
    """The earner: an email (only ever published hashed) and, when known, the holder's DID."""

    email: str
    salt: str
    holder_did: str | None = None


# Any DID (DID Core §3.1 ABNF: did:<method-name>:<method-specific-id>).
_DID = re.compile(
    r"did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})"
)


def is_did(value: str) -> bool:
    """Whether ``value`` is a DID (any method), as a credential subject id must be."""
    return _DID.fullmatch(value) is not None


def identity_hash(email: str, salt: str) -> str:
    """Return the OB 3.0 IdentityHash ``sha256$<hex>`` of ``email + salt`` (UTF-8)."""
    return "sha256$" + hashlib.sha256((email + salt).encode("utf-8")).hexdigest()


def format_timestamp(value: datetime) -> str:
    """Render an aware datetime as an XSD dateTimeStamp in UTC with seconds precision."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _require_uri(
    name: str, value: str, *, allow_urn_uuid: bool = False, allow_did: bool = False
) -> str:
    parts = urlsplit(value)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return value
    if allow_urn_uuid and value.startswith("urn:uuid:") and len(value) > len("urn:uuid:"):
        return value
    if allow_did and parts.scheme == "did" and value.count(":") >= 2:
        return value
    raise ValueError(f"{name} must be an absolute URL, got {value!r}")


def _image(url: str) -> dict[str, str]:
    return {"id": url, "type": "Image"}


def build_credential(
    *,
    credential_id: str,
    issuer: IssuerProfile,
    achievement: AchievementInfo,
    subject: SubjectInfo,
    valid_from: datetime,
    valid_until: datetime | None,
    status_entries: Sequence[Mapping[str, Any]] = (),
    awarded_at: datetime | None = None,
) -> dict[str, Any]:
    """Build an unsigned OB 3.0 ``OpenBadgeCredential`` for one certified person.

    ``valid_from`` is when this credential comes into force (a renewal's or a reissue's own
    issue time); ``awarded_at``, when the achievement was first awarded, becomes
    ``awardedDate``, which OB 3.0 defines to keep that date across reissues.

    The key order of every part is fixed: the fast canonicalization templates
    (``credentials.fastcanon``) rely on this exact shape.
    """
    _check_inputs(credential_id, issuer, achievement, subject, valid_from, valid_until)
    if awarded_at is not None and awarded_at > valid_from:
        raise ValueError("awarded_at must not be after valid_from")
    document: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT, OB_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": achievement.name,
        "issuer": _issuer_profile(issuer),
    }
    subject_document = _credential_subject(subject, _achievement_document(achievement))
    if awarded_at is not None:
        document["awardedDate"] = format_timestamp(awarded_at)
    document["validFrom"] = format_timestamp(valid_from)
    if valid_until is not None:
        document["validUntil"] = format_timestamp(valid_until)
    document["credentialSubject"] = subject_document
    if status_entries:
        document["credentialStatus"] = _credential_status(status_entries)
    return document


def _check_inputs(
    credential_id: str,
    issuer: IssuerProfile,
    achievement: AchievementInfo,
    subject: SubjectInfo,
    valid_from: datetime,
    valid_until: datetime | None,
) -> None:
    """Refuse ids that are not absolute URIs, a subject without email or salt, a bad period."""
    _require_uri("credential_id", credential_id, allow_urn_uuid=True)
    _require_uri("issuer.id", issuer.id, allow_did=True)
    _require_uri("issuer.url", issuer.url)
    _require_uri("achievement.id", achievement.id)
    if not subject.email or not subject.salt:
        raise ValueError("subject email and salt are required")
    if subject.holder_did is not None and not is_did(subject.holder_did):
        # Which methods a person may give is the people schema's rule (dids.holder_did_problem);
        # a document only needs a DID here.
        raise ValueError(f"the holder DID must be a DID, got {subject.holder_did!r}")
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("valid_until must be after valid_from")


def _issuer_profile(issuer: IssuerProfile) -> dict[str, Any]:
    """The issuer's ``Profile``; email and image only when the program has them."""
    profile: dict[str, Any] = {
        "id": issuer.id,
        "type": ["Profile"],
        "name": issuer.name,
        "url": issuer.url,
    }
    if issuer.email:
        profile["email"] = issuer.email
    if issuer.image_url:
        profile["image"] = _image(issuer.image_url)
    return profile


def achievement_document(achievement: AchievementInfo) -> dict[str, Any]:
    """The ``Achievement`` a credential embeds, on its own with its contexts (as served at its
    ``id``)."""
    return {"@context": [VC_V2_CONTEXT, OB_CONTEXT], **_achievement_document(achievement)}


def _achievement_document(achievement: AchievementInfo) -> dict[str, Any]:
    """The certification as an ``Achievement`` of type Certification, with its criteria."""
    criteria: dict[str, str] = {"narrative": achievement.criteria_narrative}
    if achievement.criteria_url:
        criteria = {"id": _require_uri("criteria_url", achievement.criteria_url), **criteria}
    document: dict[str, Any] = {
        "id": achievement.id,
        "type": ["Achievement"],
        "achievementType": "Certification",
        "name": achievement.name,
        "description": achievement.description,
        "criteria": criteria,
    }
    if achievement.image_url:
        document["image"] = _image(achievement.image_url)
    if achievement.version:
        document["version"] = achievement.version
    return document


def _credential_subject(subject: SubjectInfo, achievement: dict[str, Any]) -> dict[str, Any]:
    """The ``AchievementSubject``: the holder's DID if known, the email only as a salted hash."""
    document: dict[str, Any] = {"type": ["AchievementSubject"]}
    if subject.holder_did:
        document["id"] = subject.holder_did
    document["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "identityHash": identity_hash(subject.email, subject.salt),
            "salt": subject.salt,
        }
    ]
    document["achievement"] = achievement
    return document


def _credential_status(status_entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The one ``credentialStatus`` object a badge carries: its revocation entry.

    VC 2.0 and @digitalbazaar's checkStatus accept an array of entries, but the 1EdTech OB 3.0
    JSON schema types it as one CredentialStatus object and the 1EdTech validator rejects an
    array ("array found, object expected"), which would make every badge fail conformance.
    So a suspension is published on the revocation list too, and a reinstatement issues a new
    credential (see ``charter.credentials.issuance``): every verifier then sees a suspended
    badge as not valid.
    """
    if len(status_entries) > 1:
        raise ValueError(
            "an OB 3.0 credential carries at most one credentialStatus entry "
            "(the 1EdTech schema allows a single object)"
        )
    return dict(status_entries[0])


def _compile() -> jsonschema_rs.Draft201909Validator:
    # jsonschema-rs (Rust) validates a credential in microseconds where the pure-Python
    # validator took half a millisecond: it sits on the issue and verify hot paths. Formats are
    # asserted, as 1EdTech's validator does: a DateTimeZ without its timezone is an error.
    text = (
        resources.files("charter.credentials")
        .joinpath("schemas_ob3", SCHEMA_FILE)
        .read_text(encoding="utf-8")
    )
    return jsonschema_rs.Draft201909Validator(json.loads(text), validate_formats=True)


# Compiled once, at import (about a millisecond): no lazy first use for two threads to race
# on. A compiled validator holds no mutable state, so every thread shares it.
_VALIDATOR = _compile()


def validate_credential(document: Mapping[str, Any]) -> list[str]:
    """Check a credential against the official OB 3.0 AchievementCredential schema, exactly as
    published (``proof`` must be an array); [] means valid."""
    errors = sorted(
        _VALIDATOR.iter_errors(document), key=lambda e: [str(p) for p in e.instance_path]
    )
    return [
        f"{'/'.join(str(part) for part in error.instance_path) or '(root)'}: {error.message}"
        for error in errors
    ]


def validate_received(document: Mapping[str, Any]) -> list[str]:
    """:func:`validate_credential` for a credential a verifier was given: a single ``proof``
    object is read as a set of one.

    JSON-LD compaction writes a one-proof set as an object (OB 3.0 serialization), and Charter
    issued its credentials so before it wrote arrays; the proofs themselves are checked either
    way.
    """
    proof = document.get("proof")
    if isinstance(proof, dict):
        document = {**document, "proof": [proof]}
    return validate_credential(document)
