"""Issuing awards as signed Open Badges 3.0 credentials, one at a time or in bulk.

Every award gets an ``OpenBadgeCredential`` signed with the issuer's active key
(``eddsa-rdfc-2022``), carrying its revocation entry; its suspension entry is kept beside it
(see :mod:`charter.credentials.ob3` on why a badge carries one ``credentialStatus``). The JSON
is stored as signed and served byte for byte. A correction is a reissue: a new credential for
the same award, the old one revoked.

Settings (public URL, issuer profile, secret) come from :func:`charter.db.engine.settings_of`:
the session's when the caller's factory carries them (the app's does), the process settings
otherwise. That keeps the award services' signatures unchanged while letting
an app or a test run with settings other than the environment's.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from multiprocessing import get_context
from typing import Any, Protocol
from urllib.parse import quote, urljoin

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ColumnElement, Text, any_, bindparam, cast, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import NoProgress, Progress, chunks, table_of
from charter.core.errors import Conflict, FieldError, Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.credentials import fastcanon, ob3, proofs, status, statuslist
from charter.credentials.enums import CredentialStatus
from charter.credentials.models import Award, IssuedCredential
from charter.crypto import keyring, keys
from charter.db.engine import settings_of
from charter.partners.models import Person, PersonEmail
from charter.programs.models import Certification, CriteriaVersion

PROCESS_POOL_THRESHOLD = 200
"""Batches at least this large are signed in a process pool; smaller ones in this process."""
SIGN_CHUNK = 250
"""Documents per task sent to a signing worker."""
WORKER_NICENESS = 10
"""How much lower a signing worker's scheduling priority is than its parent's."""

_LIVE = (CredentialStatus.ACTIVE.value, CredentialStatus.SUSPENDED.value)


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


@dataclass(frozen=True, slots=True)
class AwardFacts:
    """An award's facts without its row, for bulk paths that inserted awards with Core."""

    id: str
    certification_id: str
    criteria_version_id: str
    person_id: str | None
    partner_id: str | None
    issued_at: datetime
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class PublicCredential:
    """An issued credential as anyone may see it: no salt, no email (the document hashes it)."""

    id: str
    url: str | None
    award_id: str
    document_text: str
    status: CredentialStatus
    status_reason: str | None
    status_changed_at: datetime | None
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    verification_method: str
    revocation_list_id: str
    revocation_index: int
    suspension_list_id: str
    suspension_index: int
    superseded_by_id: str | None

    @property
    def document(self) -> dict[str, Any]:
        """The signed credential, parsed."""
        parsed: dict[str, Any] = json.loads(self.document_text)
        return parsed


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
class _Context:
    """The programs data the documents of a batch are built from, loaded once per batch."""

    certifications: dict[str, Certification]
    criteria: dict[str, CriteriaVersion]


@dataclass(frozen=True, slots=True)
class _Holders:
    """The holders of a batch's awards: primary email and, when they gave one, their DID."""

    emails: dict[str, str]
    dids: dict[str, str]


def _load_programs(db: Session, awards: Sequence[AwardLike]) -> _Context:
    # Loaded for the whole batch in a few queries: one query per award would dominate bulk
    # issuance. The tables belong to programs and partners; this only reads them.
    pairs = {(award.certification_id, award.criteria_version_id) for award in awards}
    certification_ids = sorted({certification_id for certification_id, _ in pairs})
    version_ids = sorted({version_id for _, version_id in pairs})
    certifications: dict[str, Certification] = {}
    criteria: dict[str, CriteriaVersion] = {}
    for part in chunks(certification_ids):
        for row in db.scalars(select(Certification).where(Certification.id.in_(part))):
            certifications[row.id] = row
    for part in chunks(version_ids):
        for version in db.scalars(select(CriteriaVersion).where(CriteriaVersion.id.in_(part))):
            criteria[version.id] = version
    return _Context(certifications, criteria)


def _one_of(db: Session, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL one JSON parameter instead of one per value.

    Bulk issuance looks up tens of thousands of ids. PostgreSQL parses and plans a long IN list
    at every query, and psycopg writes an array parameter element by element in Python; the
    standard library writes the JSON text in C, and the server unpacks it once (an InitPlan
    whose array drives an index scan, as ``= ANY(array)`` would).
    """
    if db.get_bind().dialect.name == "postgresql":
        array_text = bindparam(None, json.dumps(list(values)), type_=Text)
        unpacked = select(func.jsonb_array_elements_text(cast(array_text, JSONB)))
        return column == any_(func.array(unpacked.scalar_subquery()))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


JSON_LOOKUP_CHUNK = 16_000
"""Most ids looked up per query where they travel as one JSON parameter (PostgreSQL)."""


def _id_chunks(db: Session, values: Sequence[str]) -> Iterator[Sequence[str]]:
    """``values`` in slices for :func:`_one_of`: fewer, larger ones where they are one
    parameter (each query costs a statement compile here and a plan on the server)."""
    postgresql = db.get_bind().dialect.name == "postgresql"
    return chunks(values, JSON_LOOKUP_CHUNK) if postgresql else chunks(values)


def _load_holders(db: Session, awards: Sequence[AwardLike]) -> _Holders:
    person_ids = sorted({award.person_id for award in awards if award.person_id})
    emails: dict[str, str] = {}
    dids: dict[str, str] = {}
    # A correlated subquery, not an outer join: it probes the email index once per person
    # whatever the planner estimates. Right after an import (the usual moment for a bulk
    # issuance) PostgreSQL has no statistics on the new rows and would hash-join the whole
    # emails table for every chunk.
    primary_email = (
        select(PersonEmail.email)
        .where(PersonEmail.person_id == Person.id, PersonEmail.primary.is_(True))
        .limit(1)
        .scalar_subquery()
    )
    for part in _id_chunks(db, person_ids):
        query = select(Person.id, primary_email, Person.did).where(_one_of(db, Person.id, part))
        for person_id, email, did in db.execute(query):
            if email is not None:
                emails[person_id] = email
            if did:
                dids[person_id] = did
    return _Holders(emails, dids)


_Item = tuple[str, str, str, str, str, datetime, datetime | None, dict[str, str], str | None]
"""One credential to build: award id, credential URL, achievement key, email, salt, validFrom,
validUntil, revocation entry, holder DID."""


class _Refusal(Exception):
    """A document Charter will not sign (raised in a worker; a plain message pickles)."""


def _achievement_key(award: AwardLike) -> str:
    return f"{award.certification_id} {award.criteria_version_id}"


def _achievements(settings: Settings, context: _Context) -> dict[str, ob3.AchievementInfo]:
    """The OB Achievement of every (certification, criteria version) in the batch."""
    found: dict[str, ob3.AchievementInfo] = {}
    for version in context.criteria.values():
        certification = context.certifications.get(version.certification_id)
        if certification is None:
            continue
        achievement_id = achievement_url(settings, certification.code)
        found[f"{certification.id} {version.id}"] = ob3.AchievementInfo(
            id=achievement_id,
            name=certification.name,
            description=certification.description,
            criteria_narrative=version.narrative,
            criteria_url=f"{achievement_id}#criteria",
            image_url=_absolute(settings, certification.image_url),
            version=str(version.version),
        )
    return found


def _check_issuable(award: AwardLike, context: _Context, holders: _Holders) -> None:
    certification = context.certifications.get(award.certification_id)
    version = context.criteria.get(award.criteria_version_id)
    if certification is None or version is None or version.certification_id != certification.id:
        raise NotFound(f"award {award.id}: its certification or criteria version is missing")
    if award.person_id is None:
        raise Conflict(f"award {award.id} has no person; firm credentials are not issued yet")
    if award.person_id not in holders.emails:
        raise Conflict(f"award {award.id}: the holder has no primary email address")


def _build(
    issuer: ob3.IssuerProfile, achievements: dict[str, ob3.AchievementInfo], item: _Item
) -> dict[str, Any]:
    award_id, url, key, email, salt, valid_from, valid_until, entry, holder_did = item
    try:
        return ob3.build_credential(
            credential_id=url,
            issuer=issuer,
            achievement=achievements[key],
            subject=ob3.SubjectInfo(email=email, salt=salt, holder_did=holder_did),
            valid_from=valid_from,
            valid_until=valid_until,
            status_entries=[entry],
        )
    except ValueError as error:
        raise _Refusal(f"award {award_id}: cannot build its credential: {error}") from None


def _unsigned(
    award: AwardLike,
    context: _Context,
    holders: _Holders,
    settings: Settings,
    *,
    credential_id: str,
    issuer_id: str,
    salt: str,
    revocation: tuple[str, int],
) -> dict[str, Any]:
    _check_issuable(award, context, holders)
    assert award.person_id is not None  # _check_issuable
    list_id, index = revocation
    entry = statuslist.status_entry(status.list_url(settings, list_id), index, "revocation")
    item: _Item = (
        award.id,
        credential_url(settings, credential_id),
        _achievement_key(award),
        holders.emails[award.person_id],
        salt,
        award.issued_at,
        award.valid_until,
        entry,
        holders.dids.get(award.person_id),
    )
    try:
        return _build(issuer_profile(settings, issuer_id), _achievements(settings, context), item)
    except _Refusal as refusal:
        raise Invalid(str(refusal)) from None


def _require_conforming(document: dict[str, Any]) -> None:
    problems = ob3.validate_credential(document)
    if problems:
        raise Invalid(
            "refusing to sign a credential that does not conform to Open Badges 3.0: "
            + "; ".join(problems),
            [FieldError(*problem.split(": ", 1)) for problem in problems],
        )


def _serialize(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def _lock_order(db: Session, actor: Principal) -> None:
    """Take the events log lock before any status list lock, as every writer does.

    Award services append their event (which locks the log head) before calling in here;
    taking it first in the other paths too gives one lock order (log head, credential, status
    lists) everywhere, so a bulk issuance and a concurrent revocation cannot deadlock.
    """
    events.append_many(db, actor, [])  # appends nothing, but holds the head lock from now on


def _live_for(db: Session, award_ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for part in _id_chunks(db, list(set(award_ids))):
        query = select(IssuedCredential.award_id).where(
            _one_of(db, IssuedCredential.award_id, part), IssuedCredential.status.in_(_LIVE)
        )
        found.update(db.scalars(query))
    return found


def issue_credential(
    db: Session, actor: Principal, *, award: AwardLike, settings: Settings
) -> IssuedCredential:
    """Sign and store the OB 3.0 credential of an award that has no live credential yet."""
    actor.require(Permission.AWARDS_ISSUE)
    _lock_order(db, actor)
    if _live_for(db, [award.id]):
        raise Conflict(f"award {award.id} already has a live credential")
    signer = keyring.active_signer(db, settings)
    context = _load_programs(db, [award])
    holders = _load_holders(db, [award])
    credential_id = new_id("bdg")
    salt = secrets.token_hex(16)
    revocation = status.allocate(db, "revocation", controller=signer.controller)
    suspension = status.allocate(db, "suspension", controller=signer.controller)
    document = _unsigned(
        award,
        context,
        holders,
        settings,
        credential_id=credential_id,
        issuer_id=signer.controller,
        salt=salt,
        revocation=(revocation[0].id, revocation[1]),
    )
    _require_conforming(document)
    now = clock.now()
    # create_proof runs the safe-mode check (jsonld.require_safe) and refuses to sign a
    # document with terms its contexts do not define, naming them.
    signed = proofs.create_proof(document, signer.private_key, signer.verification_method, now)
    row = IssuedCredential(
        id=credential_id,
        award_id=award.id,
        document=_serialize(signed),
        signing_key_id=signer.key_id,
        verification_method=signer.verification_method,
        issued_at=now,
        valid_from=award.issued_at,
        valid_until=award.valid_until,
        revocation_list_id=revocation[0].id,
        revocation_index=revocation[1],
        suspension_list_id=suspension[0].id,
        suspension_index=suspension[1],
        superseded_by_id=None,
        status=CredentialStatus.ACTIVE.value,
        status_reason=None,
        status_changed_at=None,
        salt=salt,
        created_at=now,
    )
    db.add(row)
    db.flush()
    events.append(
        db,
        actor,
        "credential.issued",
        row,
        partner_id=award.partner_id,
        **_issued_payload(row, award),
    )
    return row


def _issued_payload(row: IssuedCredential | dict[str, Any], award: AwardLike) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else (lambda name: getattr(row, name))
    return {
        "award_id": award.id,
        "person_id": award.person_id,
        "verification_method": get("verification_method"),
        "revocation_list_id": get("revocation_list_id"),
        "revocation_index": get("revocation_index"),
        "valid_from": get("valid_from"),
        "valid_until": get("valid_until"),
    }


def _credential_row(db: Session, credential_id: str, *, lock: bool = False) -> IssuedCredential:
    found = None
    if is_id(credential_id, "bdg"):
        query = select(IssuedCredential).where(IssuedCredential.id == credential_id)
        if lock:
            query = query.with_for_update()
        found = db.scalar(query)
    if found is None:
        raise NotFound(f"credential {credential_id} not found")
    return found


def _live_row(db: Session, award_id: str) -> IssuedCredential | None:
    return db.scalar(
        select(IssuedCredential)
        .where(IssuedCredential.award_id == award_id, IssuedCredential.status.in_(_LIVE))
        .with_for_update()
    )


def _revoke_row(db: Session, row: IssuedCredential, reason: str) -> None:
    row.status = CredentialStatus.REVOKED.value
    row.status_reason = reason
    row.status_changed_at = clock.now()
    status.set_bit(db, row.revocation_list_id, row.revocation_index, True)
    db.flush()


def reissue_credential(
    db: Session, actor: Principal, *, credential_id: str, reason: str
) -> IssuedCredential:
    """Issue a new credential for the same award and revoke the old one with ``reason``."""
    actor.require(Permission.AWARDS_ISSUE)
    cleaned = (reason or "").strip()
    if not cleaned:
        raise Invalid.field("reason", "a reason is required")
    _lock_order(db, actor)
    old = _credential_row(db, credential_id, lock=True)
    if old.status == CredentialStatus.REVOKED.value:
        raise Conflict(f"credential {credential_id} is revoked; it cannot be reissued")
    award = db.get(Award, old.award_id)
    if award is None:  # pragma: no cover - the foreign key forbids it
        raise NotFound(f"award {old.award_id} not found")
    # Revoke first: the one-live-credential-per-award index must be free for the new one.
    _revoke_row(db, old, cleaned)
    new = issue_credential(db, actor, award=award, settings=settings_of(db))
    old.superseded_by_id = new.id
    db.flush()
    events.append(
        db,
        actor,
        "credential.reissued",
        old,
        partner_id=award.partner_id,
        award_id=award.id,
        new_credential_id=new.id,
        reason=cleaned,
    )
    return new


def reissue_for_award(
    db: Session, actor: Principal, *, award: Award, reason: str
) -> IssuedCredential | None:
    """Reissue an award's live credential (after its facts changed); None if it has none."""
    live = _live_row(db, award.id)
    if live is None:
        return None
    return reissue_credential(db, actor, credential_id=live.id, reason=reason)


def revoke_for_award(
    db: Session, actor: Principal, *, award: Award, reason: str | None
) -> IssuedCredential | None:
    """Revoke an award's live credential: its revocation bit is set at once."""
    actor.require(Permission.AWARDS_REVOKE)
    _lock_order(db, actor)
    live = _live_row(db, award.id)
    if live is None:
        return None
    _revoke_row(db, live, reason or "award revoked")
    events.append(
        db,
        actor,
        "credential.revoked",
        live,
        partner_id=award.partner_id,
        award_id=award.id,
        reason=reason,
    )
    return live


def suspend_for_award(
    db: Session, actor: Principal, *, award: Award, reason: str | None
) -> IssuedCredential | None:
    """Suspend an award's live credential: its suspension bit is set at once."""
    return _set_suspension(db, actor, award, reason, suspended=True)


def reinstate_for_award(
    db: Session, actor: Principal, *, award: Award, reason: str | None
) -> IssuedCredential | None:
    """Reinstate an award's suspended credential: its suspension bit is cleared."""
    return _set_suspension(db, actor, award, reason, suspended=False)


def _set_suspension(
    db: Session, actor: Principal, award: Award, reason: str | None, *, suspended: bool
) -> IssuedCredential | None:
    actor.require(Permission.AWARDS_REVOKE)
    _lock_order(db, actor)
    live = _live_row(db, award.id)
    if live is None:
        return None
    live.status = (CredentialStatus.SUSPENDED if suspended else CredentialStatus.ACTIVE).value
    live.status_reason = reason
    live.status_changed_at = clock.now()
    status.set_bit(db, live.suspension_list_id, live.suspension_index, suspended)
    db.flush()
    events.append(
        db,
        actor,
        "credential.suspended" if suspended else "credential.reinstated",
        live,
        partner_id=award.partner_id,
        award_id=award.id,
        reason=reason,
    )
    return live


def _public(row: IssuedCredential, settings: Settings | None) -> PublicCredential:
    return PublicCredential(
        id=row.id,
        url=credential_url(settings, row.id) if settings is not None else None,
        award_id=row.award_id,
        document_text=row.document,
        status=CredentialStatus(row.status),
        status_reason=row.status_reason,
        status_changed_at=row.status_changed_at,
        issued_at=row.issued_at,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        verification_method=row.verification_method,
        revocation_list_id=row.revocation_list_id,
        revocation_index=row.revocation_index,
        suspension_list_id=row.suspension_list_id,
        suspension_index=row.suspension_index,
        superseded_by_id=row.superseded_by_id,
    )


def get_credential(
    db: Session, credential_id: str, *, settings: Settings | None = None
) -> PublicCredential:
    """A credential by id, for anyone (public pages, verification); never the salt or email."""
    return _public(_credential_row(db, credential_id), settings)


def current_credential_for_award(
    db: Session, award_id: str, *, settings: Settings | None = None
) -> PublicCredential | None:
    """The award's live credential, or its latest one if none is live; ``None`` if never issued."""
    row = db.scalar(
        select(IssuedCredential)
        .where(IssuedCredential.award_id == award_id)
        .order_by(
            IssuedCredential.status.in_(_LIVE).desc(),
            IssuedCredential.created_at.desc(),
            IssuedCredential.id.desc(),
        )
        .limit(1)
    )
    return _public(row, settings) if row is not None else None


def credentials_for_award(db: Session, award_id: str) -> list[PublicCredential]:
    """Every credential issued for an award, oldest first (reissues included)."""
    rows = db.scalars(
        select(IssuedCredential)
        .where(IssuedCredential.award_id == award_id)
        .order_by(IssuedCredential.created_at, IssuedCredential.id)
    )
    return [_public(row, None) for row in rows]


@dataclass(frozen=True, slots=True)
class _Batch:
    """What every document of a bulk batch shares (sent once to each worker)."""

    settings: Settings
    issuer: ob3.IssuerProfile
    achievements: dict[str, ob3.AchievementInfo]
    verification_method: str
    signing_key_id: str
    created: datetime
    dialect: str
    events: events.Renderer  # the credential.issued events, which occur at ``created``


_BulkItem = tuple[
    str, str, str, str | None, datetime, datetime | None, str, int, str, int, str, str | None
]
"""One award to sign in bulk: award id, achievement key, email, holder DID, validFrom,
validUntil, revocation list and index, suspension list and index, person id, partner id (a
tuple: chunks of them cross process boundaries)."""

_CREDENTIAL_COLUMNS = (
    "id",
    "award_id",
    "document",
    "signing_key_id",
    "verification_method",
    "issued_at",
    "valid_from",
    "valid_until",
    "revocation_list_id",
    "revocation_index",
    "suspension_list_id",
    "suspension_index",
    "superseded_by_id",
    "status",
    "status_reason",
    "status_changed_at",
    "salt",
    "created_at",
)
_Signed = tuple[list[tuple[Any, ...]], list[events.Rendered]]
"""A signed chunk: credential rows (values in ``_CREDENTIAL_COLUMNS`` order, bound as the
database driver takes them) and their ``credential.issued`` events, rendered by the signer up
to their place in the chain, so that the process storing them only chains them."""


@dataclass(slots=True)
class _Signing:
    """What signs a batch's chunks in one process: the signer and the document shapes seen."""

    signer: proofs.BatchSigner
    batch: _Batch
    shapes: dict[tuple[str, bool, bool], _Shape | None] = field(default_factory=dict)


_worker: _Signing | None = None


def _init_worker(seed: bytes, batch: _Batch) -> None:
    # The seed reaches the worker through the pool's pipe (or a fork), never a file.
    global _worker  # noqa: PLW0603 - per-process state of a pool worker
    key = Ed25519PrivateKey.from_private_bytes(seed)
    _worker = _Signing(proofs.BatchSigner(key, batch.verification_method, batch.created), batch)
    # Below the process that stores what the workers sign (and below a server's requests): it
    # is the batch's critical path, and the workers use whatever it leaves.
    os.nice(WORKER_NICENESS)


# A batch's credentials of one achievement differ only in these values (the open fields of a
# _Shape): credential URL, validFrom, validUntil, holder DID, identity hash, salt, status entry
# id, statusListIndex, statusListCredential. The sample document holds these stand-ins.
_VALID_FROM = datetime(1901, 1, 1, 0, 0, 1, tzinfo=UTC)
_VALID_UNTIL = datetime(1901, 1, 1, 0, 0, 2, tzinfo=UTC)
_STAND_INS = (
    "urn:uuid:00000000-0000-4000-8000-0c0ffee00001",
    ob3.format_timestamp(_VALID_FROM),
    ob3.format_timestamp(_VALID_UNTIL),
    "did:web:c0ffee00004.invalid",
    ob3.identity_hash("c0ffee@invalid", "0c0ffee00006"),
    "0c0ffee00006",
    "urn:uuid:00000000-0000-4000-8000-0c0ffee00007",
    "0c0ffee00008",
    "urn:uuid:00000000-0000-4000-8000-0c0ffee00009",
)


@dataclass(frozen=True, slots=True)
class _Shape:
    """The documents of one achievement (with or without holder DID and end date) in a batch.

    Built, schema-checked, safe-mode checked and analysed once from a sample holding stand-ins
    for the open fields; each credential is then its values put into the JSON text and the
    canonical template. That gives the bytes :func:`_build` and :meth:`BatchSigner.sign` give:
    the schema constrains the open fields only by being strings (and date-times, which
    ``format_timestamp`` always writes), so the sample's verdict is every document's.
    """

    fields: tuple[int, ...]  # the open fields present, as indexes into _STAND_INS
    pieces: tuple[str, ...]  # the unsigned JSON text around the open fields
    order: tuple[int, ...]  # the open field between each two pieces
    canonical: fastcanon.Template
    context: Any


def _shape(batch: _Batch, key: str, with_did: bool, with_until: bool) -> _Shape | None:
    """The shape of a kind of document, or None if it must be built one by one."""
    sample_entry = {
        **statuslist.status_entry("https://status.invalid/list", 0, "revocation"),
        "id": _STAND_INS[6],
        "statusListIndex": _STAND_INS[7],
        "statusListCredential": _STAND_INS[8],
    }
    item: _Item = (
        "sample",
        _STAND_INS[0],
        key,
        "c0ffee@invalid",
        _STAND_INS[5],
        _VALID_FROM,
        _VALID_UNTIL if with_until else None,
        sample_entry,
        _STAND_INS[3] if with_did else None,
    )
    try:
        sample = _build(batch.issuer, batch.achievements, item)
    except _Refusal:
        return None
    if ob3.validate_credential(sample):
        return None
    fields = tuple(
        index
        for index in range(len(_STAND_INS))
        if (index != 2 or with_until) and (index != 3 or with_did)
    )
    canonical = fastcanon.template(sample, [_STAND_INS[index] for index in fields])
    if canonical is None:
        return None
    text = _serialize(sample)
    found: list[tuple[int, int, int]] = []
    for index in fields:
        escaped = _json_string(_STAND_INS[index])
        if text.count(escaped) != 1:
            return None
        start = text.index(escaped)
        found.append((start, start + len(escaped), index))
    found.sort()
    pieces: list[str] = []
    position = 0
    for start, end, _ in found:
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    order = tuple(index for _, _, index in found)
    return _Shape(fields, tuple(pieces), order, canonical, sample["@context"])


def _json_string(value: str) -> str:
    """``value`` as it appears inside a JSON string written by :func:`_serialize`."""
    # What json.dumps(value, ensure_ascii=False) writes, without its per-call set-up.
    escaped: str = encode_basestring(value)
    return escaped[1:-1]


def _from_shape(signing: _Signing, shape: _Shape, values: list[str]) -> str | None:
    """The signed JSON text of a document of ``shape``; None if it must be built in full."""
    canonical = fastcanon.canonicalize_template(
        shape.canonical, [values[index] for index in shape.fields]
    )
    if canonical is None:
        return None
    proof = signing.signer.proof_text_for(shape.context, canonical)
    if proof is None:
        return None
    parts: list[str] = [shape.pieces[0]]
    for index, piece in zip(shape.order, shape.pieces[1:], strict=True):
        parts.append(_json_string(values[index]))
        parts.append(piece)
    parts[-1] = parts[-1][:-1]  # the closing brace, which follows the proof
    parts.append(',"proof":')
    parts.append(proof)
    parts.append("}")
    return "".join(parts)


def _bound_time(value: datetime | None, dialect: str) -> Any:
    """A timestamp as the driver binds it: SQLite stores SQLAlchemy's text form."""
    if value is None:
        return None
    utc = clock.ensure_utc(value)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else utc


def _payload_time(value: datetime | None) -> str | None:
    # As events render datetimes in payloads, so the payload is plain JSON from the start.
    return None if value is None else clock.ensure_utc(value).isoformat().replace("+00:00", "Z")


def _cached(cache: dict[Any, Any], value: Any, render: Callable[[Any], Any]) -> Any:
    if value in cache:
        return cache[value]
    cache[value] = found = render(value)
    return found


def _sign_chunk(signing: _Signing, items: list[_BulkItem]) -> _Signed:
    """Build, check, sign and serialize one chunk; its credential rows and event payloads."""
    batch = signing.batch
    rows: list[tuple[Any, ...]] = []
    rendered_events: list[events.Rendered] = []
    render_event = batch.events.render
    dialect = batch.dialect
    created = _bound_time(batch.created, dialect)
    # Awards of a batch share a few dates; each is rendered once per chunk.
    bound: dict[datetime | None, Any] = {}
    rendered: dict[datetime | None, str | None] = {}
    stamps: dict[datetime | None, str] = {}
    lists: dict[str, str] = {}
    payload_lists: dict[str, str] = {}
    payload_dates: dict[tuple[datetime, datetime | None], str] = {}
    payload_tail = ',"verification_method":' + encode_basestring(batch.verification_method) + "}"
    settings = batch.settings
    for item in items:
        (award_id, key, email, holder_did, valid_from, valid_until) = item[:6]
        revocation_list, revocation_index, suspension_list, suspension_index = item[6:10]
        credential_id = new_id("bdg")
        salt = secrets.token_hex(16)
        list_url = _cached(
            lists, revocation_list, lambda list_id: status.list_url(settings, list_id)
        )
        url = credential_url(settings, credential_id)
        text = None
        # What build_credential would refuse takes the full path, which names the problem.
        if (
            email
            and (valid_until is None or valid_until > valid_from)
            and (holder_did is None or ob3.is_did(holder_did))
        ):
            shape_key = (key, holder_did is not None, valid_until is not None)
            if shape_key not in signing.shapes:
                signing.shapes[shape_key] = _shape(batch, *shape_key)
            shape = signing.shapes[shape_key]
            if shape is not None:
                values = [
                    url,
                    _cached(stamps, valid_from, ob3.format_timestamp),
                    _cached(stamps, valid_until, ob3.format_timestamp) if valid_until else "",
                    holder_did or "",
                    ob3.identity_hash(email, salt),
                    salt,
                    statuslist.entry_id(list_url, revocation_index),
                    str(revocation_index),
                    list_url,
                ]
                text = _from_shape(signing, shape, values)
        if text is None:
            entry = statuslist.status_entry(list_url, revocation_index, "revocation")
            text = _sign_in_full(
                signing,
                (award_id, url, key, email, salt, valid_from, valid_until, entry, holder_did),
            )
        rows.append(
            (
                credential_id,
                award_id,
                text,
                batch.signing_key_id,
                batch.verification_method,
                created,
                _cached(bound, valid_from, lambda value: _bound_time(value, dialect)),
                _cached(bound, valid_until, lambda value: _bound_time(value, dialect)),
                revocation_list,
                revocation_index,
                suspension_list,
                suspension_index,
                None,
                CredentialStatus.ACTIVE.value,
                None,
                None,
                salt,
                created,
            )
        )
        person_id = item[10]
        payload = {
            "award_id": award_id,
            "person_id": person_id,
            "verification_method": batch.verification_method,
            "revocation_list_id": revocation_list,
            "revocation_index": revocation_index,
            "valid_from": _cached(rendered, valid_from, _payload_time),
            "valid_until": _cached(rendered, valid_until, _payload_time),
        }
        # The payload's canonical text (keys sorted, compact), as canonical_payload_text writes
        # it, put together from its values: the ids are strings and the index a small integer.
        payload_text = "".join(
            (
                '{"award_id":',
                encode_basestring(award_id),
                ',"person_id":',
                encode_basestring(person_id),
                ',"revocation_index":',
                str(revocation_index),
                _cached(payload_lists, revocation_list, _payload_list),
                _cached(payload_dates, (valid_from, valid_until), _payload_dates),
                payload_tail,
            )
        )
        draft = events.Draft(
            "credential.issued", "credential", credential_id, payload, item[11], payload_text
        )
        rendered_events.append(render_event(draft))
    return rows, rendered_events


def _payload_list(list_id: str) -> str:
    return ',"revocation_list_id":' + encode_basestring(list_id)


def _payload_dates(dates: tuple[datetime, datetime | None]) -> str:
    valid_from, valid_until = (_payload_time(value) for value in dates)
    return "".join(
        (
            ',"valid_from":',
            "null" if valid_from is None else encode_basestring(valid_from),
            ',"valid_until":',
            "null" if valid_until is None else encode_basestring(valid_until),
        )
    )


def _sign_in_full(signing: _Signing, item: _Item) -> str:
    """Build, check and sign one document the long way; its signed JSON text."""
    award_id = item[0]
    document = _build(signing.batch.issuer, signing.batch.achievements, item)
    problems = ob3.validate_credential(document)
    if problems:
        raise _Refusal(
            f"award {award_id}: refusing to sign a credential that does not conform to "
            "Open Badges 3.0: " + "; ".join(problems)
        )
    try:
        # The signer runs the safe-mode check and refuses undefined terms.
        signed = signing.signer.sign(document)
    except Invalid as error:
        raise _Refusal(f"award {award_id}: {error.detail}") from None
    return _serialize(signed)


def _issue_chunk(items: list[_BulkItem]) -> _Signed:
    """A pool worker's task: build, check, sign and serialize one chunk of credentials."""
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("signing worker has no key")
    return _sign_chunk(_worker, items)


def _pool(workers: int, signer: keyring.Signer, batch: _Batch) -> ProcessPoolExecutor:
    # fork starts workers at once with this process's warm caches (contexts, templates); it is
    # only safe while no other thread could hold a lock at the moment of the fork, so a
    # threaded process (a web server) starts clean workers from a fork server instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context(method),
        initializer=_init_worker,
        initargs=(keys.raw_seed(signer.private_key), batch),
    )


class _Pending(Protocol):
    """A chunk being signed: a pool's future, or a chunk already signed in this process."""

    def done(self) -> bool: ...
    def result(self) -> _Signed: ...


class _Done:
    """A chunk signed in this process."""

    def __init__(self, result: _Signed) -> None:
        self._result = result

    def done(self) -> bool:
        return True

    def result(self) -> _Signed:
        return self._result


def issue_credentials_bulk(
    db: Session,
    actor: Principal,
    awards: Sequence[AwardLike],
    settings: Settings,
    workers: int = 2,
    *,
    progress: Progress | None = None,
) -> list[str]:
    """Issue credentials for many awards, signing in ``workers`` processes; returns new ids.

    Idempotent: awards that already have a live credential are skipped. Every credential is
    the one :func:`issue_credential` would sign for the same ids, times and status entries.
    This process loads the data, hands out status indexes and writes; the documents are built,
    checked against the OB 3.0 schema and safe mode, canonicalized and signed in the pool. The
    work is pipelined: while the workers sign, this process prepares the next slice of awards
    and stores the chunks already signed, all in the caller's transaction.
    """
    actor.require(Permission.AWARDS_ISSUE)
    progress = progress or NoProgress()
    # The batch's first slice waits for these passes over every award, and the workers wait
    # for it: each id is read once.
    by_id: dict[str, AwardLike] = {}
    for award in awards:
        by_id.setdefault(award.id, award)  # the first of repeated ids, in order
    live = _live_for(db, by_id)
    todo = [award for award_id, award in by_id.items() if award_id not in live]
    if not todo:
        return []
    _lock_order(db, actor)  # held from here on: no event can be appended between ours
    issued_at = clock.now()
    signer = keyring.active_signer(db, settings)
    context = _load_programs(db, todo)
    achievements = _achievements(settings, context)
    batch = _Batch(
        settings=settings,
        issuer=issuer_profile(settings, signer.controller),
        achievements=achievements,
        verification_method=signer.verification_method,
        signing_key_id=signer.key_id,
        created=issued_at,
        dialect=db.get_bind().dialect.name,
        events=events.Renderer.of(actor, issued_at),
    )
    progress.phase(f"signing {len(todo):,} credentials", len(todo))
    workers = _workers(workers)
    # Even one worker process pays: this process stores while it signs.
    pooled = len(todo) >= PROCESS_POOL_THRESHOLD
    created: list[str] = []
    try:
        if pooled:
            with _frozen_heap(), _pool(workers, signer, batch) as pool:
                _pipeline(db, actor, todo, batch, context, pool, workers, created, progress)
        else:
            local = _Signing(
                proofs.BatchSigner(signer.private_key, batch.verification_method, batch.created),
                batch,
            )
            _pipeline(db, actor, todo, batch, context, local, 1, created, progress)
    except _Refusal as refusal:
        raise Invalid(str(refusal)) from None
    db.flush()
    return created


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Leave the objects that exist now out of garbage collection until the batch is stored.

    A large batch allocates a few objects per award while the caller's rows (often as many ORM
    objects as awards) stay alive; every full collection would walk them all again. Freezing
    them first (which also keeps forked workers from touching those pages) and unfreezing
    after defers nothing but their collection.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


MAX_SLICE = 16_000
"""Most awards prepared at a time (holders loaded, status indexes handed out) in bulk issuance.

Each slice costs a pass over the status lists, so slices grow (from one chunk per worker,
doubling) to keep those passes few, while the workers sign the previous slice."""


def _pipeline(
    db: Session,
    actor: Principal,
    todo: list[AwardLike],
    batch: _Batch,
    context: _Context,
    signing: ProcessPoolExecutor | _Signing,
    workers: int,
    created: list[str],
    progress: Progress,
) -> None:
    pending: deque[_Pending] = deque()
    size = SIGN_CHUNK * workers
    start = 0
    store: _Store | None = None
    try:
        while start < len(todo):
            part = todo[start : start + size]
            start += len(part)
            for items in _prepare(db, part, batch, context):
                if isinstance(signing, _Signing):
                    pending.append(_Done(_sign_chunk(signing, items)))
                else:
                    pending.append(signing.submit(_issue_chunk, items))
            # Made once the pool's processes exist: a store may start a thread, and a process
            # must not fork while another thread runs.
            store = store or _store_for(db, actor, batch, pooled=not isinstance(signing, _Signing))
            # Store what is signed, but keep this slice queued: the workers sign it while the
            # next one is prepared.
            reserve = max(len(part) // SIGN_CHUNK, 2 * workers)
            while pending and (len(pending) > reserve or pending[0].done()):
                _store_next(store, pending, created, progress)
            size = min(2 * size, MAX_SLICE)
        while pending:
            assert store is not None  # made with the first slice
            _store_next(store, pending, created, progress)
    except BaseException:
        failure = store.abandon() if store is not None else None
        if failure is not None:
            # What went wrong first: this thread's error is then only the aborted transaction.
            raise failure from None
        raise
    if store is not None:
        store.close()


def _prepare(
    db: Session, part: Sequence[AwardLike], batch: _Batch, programs_context: _Context
) -> list[list[_BulkItem]]:
    """Chunks of items for a slice of awards: holders loaded, status indexes handed out."""
    holders = _load_holders(db, part)
    for award in part:
        _check_issuable(award, programs_context, holders)
    controller = batch.issuer.id
    revocations = status.allocate_many(db, "revocation", len(part), controller=controller)
    suspensions = status.allocate_many(db, "suspension", len(part), controller=controller)
    chunked: list[list[_BulkItem]] = []
    for begin in range(0, len(part), SIGN_CHUNK):
        items: list[_BulkItem] = []
        for offset in range(begin, min(begin + SIGN_CHUNK, len(part))):
            award = part[offset]
            person_id = award.person_id
            assert person_id is not None  # _check_issuable
            revocation, suspension = revocations[offset], suspensions[offset]
            items.append(
                (
                    award.id,
                    _achievement_key(award),
                    holders.emails[person_id],
                    holders.dids.get(person_id),
                    award.issued_at,
                    award.valid_until,
                    revocation[0].id,
                    revocation[1],
                    suspension[0].id,
                    suspension[1],
                    person_id,
                    award.partner_id,
                )
            )
        chunked.append(items)
    return chunked


STORE_CHUNKS = 8
"""Most signed chunks stored together (one insert and one events append for all of them)."""


def _store_next(
    store: _Store, pending: deque[_Pending], created: list[str], progress: Progress
) -> None:
    """Store the oldest pending chunk, with those after it already signed: their credential
    rows and their events, in one round of statements (each round costs a few round trips and
    the events log's lock however many rows it holds)."""
    rows, rendered = pending.popleft().result()
    taken = 1
    while pending and taken < STORE_CHUNKS and pending[0].done():
        signed, signed_events = pending.popleft().result()
        rows = rows + signed
        rendered = rendered + signed_events
        taken += 1
    store.put(rows, rendered)
    created.extend(row[0] for row in rows)
    progress.advance(len(rows))


class _Store(Protocol):
    """Where signed chunks go: their credential rows and their events."""

    def put(self, rows: list[tuple[Any, ...]], rendered: list[events.Rendered]) -> None: ...
    def close(self) -> None: ...
    def abandon(self) -> BaseException | None:
        """Stop storing (the batch failed); what failed in storing, if anything did."""


def _store_for(db: Session, actor: Principal, batch: _Batch, *, pooled: bool) -> _Store:
    if pooled and batch.dialect == "postgresql":
        return _BackgroundStore(db, actor, batch)
    return _SessionStore(db, actor, batch)


class _SessionStore:
    """Stores each chunk through the session, before :meth:`put` returns."""

    def __init__(self, db: Session, actor: Principal, batch: _Batch) -> None:
        self._db, self._actor, self._batch = db, actor, batch

    def put(self, rows: list[tuple[Any, ...]], rendered: list[events.Rendered]) -> None:
        _insert_credentials(self._db, rows)
        events.append_rendered(self._db, self._actor, self._batch.events, rendered)

    def close(self) -> None:
        pass

    def abandon(self) -> BaseException | None:
        return None


class _BackgroundStore:
    """Stores chunks on PostgreSQL from a thread of its own, in the caller's transaction.

    Storing is the batch's critical path: this process chains the events and prepares the next
    slice while the server inserts the last one, instead of waiting for it. The thread only
    runs COPY on the session's driver connection, which psycopg serializes with the session's
    own statements (a connection runs one operation at a time, whichever thread asks), so the
    session stays this thread's alone. :meth:`close` waits for every chunk and raises what
    failed; events are chained here, in order, whatever order the server gets them in.
    """

    def __init__(self, db: Session, actor: Principal, batch: _Batch) -> None:
        self._log = events.HeldLog(db, actor, batch.events)
        self._driver: Any = db.connection().connection.driver_connection
        # Two chunks queued at most: enough to keep the server busy, and a failure stops the
        # batch soon after it happens.
        self._queue: queue.Queue[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] | None]
        self._queue = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="charter-bulk-store", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            if self._failure is not None or self._abandoned:
                continue  # drained, not run: the transaction is lost anyway
            rows, event_rows = job
            try:
                _copy_credentials(self._driver, rows)
                events.copy_rows(self._driver, event_rows)
            except BaseException as failure:  # handed to the caller's thread
                self._failure = failure

    def put(self, rows: list[tuple[Any, ...]], rendered: list[events.Rendered]) -> None:
        self._raise_failure()
        self._queue.put((rows, self._log.chain(rendered)))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise_failure()

    def abandon(self) -> BaseException | None:
        self._abandoned = True
        self._queue.put(None)
        self._thread.join()
        return self._failure

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


# Only constant column names are interpolated; values are bound or streamed.
_INSERT_SQL = "INSERT INTO issued_credentials ({}) VALUES ({})".format(  # noqa: S608
    ", ".join(_CREDENTIAL_COLUMNS), ", ".join("?" for _ in _CREDENTIAL_COLUMNS)
)
_COPY_SQL = "COPY issued_credentials ({}) FROM STDIN (FORMAT BINARY)".format(
    ", ".join(_CREDENTIAL_COLUMNS)
)
# The PostgreSQL types of _CREDENTIAL_COLUMNS, for binary COPY (no text parsing on the server).
_COPY_TYPES = (
    "varchar",
    "varchar",
    "text",
    "varchar",
    "varchar",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "varchar",
    "int4",
    "varchar",
    "int4",
    "varchar",
    "varchar",
    "text",
    "timestamptz",
    "varchar",
    "timestamptz",
)


def _insert_credentials(db: Session, rows: list[tuple[Any, ...]]) -> None:
    """Insert credential rows through the driver: executemany on SQLite, COPY on PostgreSQL.

    Bulk issuance writes one row of a few kilobytes per award; SQLAlchemy's per-value
    processing and PostgreSQL's per-statement work cost more than signing there.
    """
    dialect = db.get_bind().dialect.name
    connection = db.connection()
    if dialect == "sqlite":
        connection.exec_driver_sql(_INSERT_SQL, rows)
    elif dialect == "postgresql":
        _copy_credentials(connection.connection.driver_connection, rows)
    else:
        db.execute(
            insert(table_of(IssuedCredential)),
            [dict(zip(_CREDENTIAL_COLUMNS, row, strict=True)) for row in rows],
        )


def _copy_credentials(driver: Any, rows: list[tuple[Any, ...]]) -> None:
    """Write credential rows on a psycopg connection with binary COPY."""
    with driver.cursor() as cursor, cursor.copy(_COPY_SQL) as copy:
        copy.set_types(_COPY_TYPES)
        for row in rows:
            copy.write_row(row)


def _workers(requested: int) -> int:
    return max(1, min(requested, os.cpu_count() or 1))
