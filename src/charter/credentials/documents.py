"""The Open Badges 3.0 document of an award: issuer profile, URLs, and the unsigned credential
built from the award's facts, checked and serialized as it is stored.

Every award gets an ``OpenBadgeCredential`` carrying its revocation entry, which a suspension
sets too (see :mod:`charter.credentials.ob3` on why a badge carries one ``credentialStatus``).
Functions from values to values: the programs and holders data come in loaded
(:mod:`charter.credentials.sources`), the ids and times as arguments. The single-award path
(:mod:`charter.credentials.issuance`) and bulk issuance (:mod:`charter.credentials.bulk`)
build the same bytes from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, urljoin

from charter.config import Settings
from charter.core.errors import Conflict, FieldError, Invalid, NotFound
from charter.credentials import ob3, status, statuslist
from charter.programs.models import Certification, CriteriaVersion


class AwardLike(Protocol):
    """What issuing needs from an award (an ``Award`` row, or a transient one in bulk paths)."""

    @property
    def id(self) -> str: ...
    @property
    def certification_id(self) -> str: ...
    @property
    def criteria_version_id(self) -> str: ...
    @property
    def person_id(self) -> str | None: ...
    @property
    def partner_id(self) -> str | None: ...
    @property
    def issued_at(self) -> datetime: ...
    @property
    def valid_until(self) -> datetime: ...


def credential_url(settings: Settings, credential_id: str) -> str:
    """The public URL (and OB ``id``) of a credential: ``<public_url>/credentials/<id>``."""
    return f"{_base(settings)}/credentials/{credential_id}"


def achievement_url(settings: Settings, code: str) -> str:
    """The OB ``Achievement.id`` of a certification: ``<public_url>/achievements/<code>``."""
    return f"{_base(settings)}/achievements/{quote(code, safe='')}"


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def _absolute(settings: Settings, url: str | None) -> str | None:
    if not url:
        return None
    return urljoin(_base(settings) + "/", url)


def issuer_profile(settings: Settings, issuer_id: str) -> ob3.IssuerProfile:
    """The issuer profile from settings, for the key controller ``issuer_id``."""
    return ob3.IssuerProfile(
        id=issuer_id,
        name=settings.issuer_name,
        url=settings.issuer_url or _base(settings),
        email=settings.issuer_email,
        image_url=_absolute(settings, settings.issuer_image_url),
    )


@dataclass(frozen=True, slots=True)
class Programs:
    """The programs data the documents of a batch are built from, loaded once per batch."""

    certifications: dict[str, Certification]
    criteria: dict[str, CriteriaVersion]


@dataclass(frozen=True, slots=True)
class Holders:
    """The holders of a batch's awards: primary email and, when they gave one, their DID."""

    emails: dict[str, str]
    dids: dict[str, str]


class Refusal(Exception):
    """A document Charter will not sign (raised in a signing worker too: a plain message
    pickles)."""


def achievement_key(award: AwardLike) -> str:
    """The key of an award's achievement in :func:`achievements`."""
    return f"{award.certification_id} {award.criteria_version_id}"


def achievements(settings: Settings, programs: Programs) -> dict[str, ob3.AchievementInfo]:
    """The OB Achievement of every (certification, criteria version) in the batch."""
    found: dict[str, ob3.AchievementInfo] = {}
    for version in programs.criteria.values():
        certification = programs.certifications.get(version.certification_id)
        if certification is None:
            continue
        found[f"{certification.id} {version.id}"] = achievement_info(
            settings, certification, version
        )
    return found


def achievement_info(
    settings: Settings, certification: Certification, version: CriteriaVersion
) -> ob3.AchievementInfo:
    """The OB Achievement of a certification under one criteria version."""
    achievement_id = achievement_url(settings, certification.code)
    return ob3.AchievementInfo(
        id=achievement_id,
        name=certification.name,
        description=certification.description,
        criteria_narrative=version.narrative,
        criteria_url=f"{achievement_id}#criteria",
        image_url=_absolute(settings, certification.image_url),
        version=str(version.version),
    )


def check_issuable(award: AwardLike, programs: Programs, holders: Holders) -> None:
    """Refuse an award whose programs data or holder's email is missing (domain errors)."""
    certification = programs.certifications.get(award.certification_id)
    version = programs.criteria.get(award.criteria_version_id)
    if certification is None or version is None or version.certification_id != certification.id:
        raise NotFound(f"award {award.id}: its certification or criteria version is missing")
    if award.person_id is None:
        raise Conflict(f"award {award.id} has no person; firm credentials are not issued yet")
    if award.person_id not in holders.emails:
        raise Conflict(f"award {award.id}: the holder has no primary email address")


class DocumentFacts(NamedTuple):
    """What one credential is built from, beside its batch's issuer and achievements."""

    award_id: str
    url: str
    achievement_key: str
    email: str
    salt: str
    valid_from: datetime
    valid_until: datetime | None
    status_entry: dict[str, str]
    holder_did: str | None
    awarded_at: datetime  # the award's date (``awardedDate``); ``valid_from`` is this credential's


def build_document(
    issuer: ob3.IssuerProfile, achievements: dict[str, ob3.AchievementInfo], facts: DocumentFacts
) -> dict[str, Any]:
    """The unsigned credential of ``facts``; :class:`Refusal` if it cannot be built."""
    try:
        return ob3.build_credential(
            credential_id=facts.url,
            issuer=issuer,
            achievement=achievements[facts.achievement_key],
            subject=ob3.SubjectInfo(
                email=facts.email, salt=facts.salt, holder_did=facts.holder_did
            ),
            valid_from=facts.valid_from,
            valid_until=facts.valid_until,
            status_entries=[facts.status_entry],
            awarded_at=facts.awarded_at,
        )
    except ValueError as error:
        raise Refusal(f"award {facts.award_id}: cannot build its credential: {error}") from None


def unsigned_document(
    award: AwardLike,
    programs: Programs,
    holders: Holders,
    settings: Settings,
    *,
    credential_id: str,
    issuer_id: str,
    salt: str,
    revocation: tuple[str, int],
    valid_from: datetime | None = None,
) -> dict[str, Any]:
    """The unsigned credential of one award, with its revocation entry (list id, index).

    It is valid from ``valid_from`` (a reissue's own time), by default from the award's date;
    ``awardedDate`` is always the award's date.
    """
    check_issuable(award, programs, holders)
    assert award.person_id is not None  # check_issuable
    list_id, index = revocation
    entry = statuslist.status_entry(status.list_url(settings, list_id), index, "revocation")
    facts = DocumentFacts(
        award.id,
        credential_url(settings, credential_id),
        achievement_key(award),
        holders.emails[award.person_id],
        salt,
        award.issued_at if valid_from is None else valid_from,
        award.valid_until,
        entry,
        holders.dids.get(award.person_id),
        award.issued_at,
    )
    try:
        return build_document(
            issuer_profile(settings, issuer_id), achievements(settings, programs), facts
        )
    except Refusal as refusal:
        raise Invalid(str(refusal)) from None


def require_conforming(document: dict[str, Any]) -> None:
    """Refuse (:class:`Invalid`, naming each problem) a document that fails the OB 3.0 schema."""
    problems = ob3.validate_credential(document)
    if problems:
        raise Invalid(
            "refusing to sign a credential that does not conform to Open Badges 3.0: "
            + "; ".join(problems),
            [FieldError(*problem.split(": ", 1)) for problem in problems],
        )


def serialize(document: dict[str, Any]) -> str:
    """A signed document as it is stored and served, byte for byte."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
