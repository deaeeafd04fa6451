"""Issuing awards as signed Open Badges 3.0 credentials, one at a time or in bulk.

Every award gets an ``OpenBadgeCredential`` signed with the issuer's active key
(``eddsa-rdfc-2022``), carrying its revocation entry; its suspension entry is kept beside it
(see :mod:`charter.credentials.ob3` on why a badge carries one ``credentialStatus``). The JSON
is stored as signed and served byte for byte. A correction is a reissue: a new credential for
the same award, the old one revoked.

Settings (public URL, issuer profile, secret) come from :func:`settings_of`: the session's
``info["settings"]`` when the caller put them there (the app does, from its own settings), the
process settings otherwise. That keeps the award services' signatures unchanged while letting
an app or a test run with settings other than the environment's.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from typing import Any, Protocol
from urllib.parse import quote, urljoin

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from charter.config import Settings, get_settings
from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import NoProgress, Progress, chunks, table_of
from charter.core.errors import Conflict, FieldError, Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.credentials import ob3, proofs, status, statuslist
from charter.credentials.models import Award, CredentialStatus, IssuedCredential, StatusList
from charter.crypto import keyring, keys
from charter.partners.models import PersonEmail
from charter.programs.models import Certification, CriteriaVersion

PROCESS_POOL_THRESHOLD = 200
"""Batches at least this large are signed in a process pool; smaller ones in this process."""
SIGN_CHUNK = 250
"""Documents per task sent to a signing worker."""

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


def settings_of(db: Session) -> Settings:
    """The settings to issue with: the session's ``info["settings"]``, else the process's."""
    found = db.info.get("settings")
    return found if isinstance(found, Settings) else get_settings()


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
    """What the documents of a batch are built from, loaded once per batch."""

    certifications: dict[str, Certification]
    criteria: dict[str, CriteriaVersion]
    emails: dict[str, str]


def _load_context(db: Session, awards: Sequence[AwardLike]) -> _Context:
    # Loaded for the whole batch in a few queries: one query per award would dominate bulk
    # issuance. The tables belong to programs and partners; this only reads them.
    certification_ids = sorted({award.certification_id for award in awards})
    version_ids = sorted({award.criteria_version_id for award in awards})
    person_ids = sorted({award.person_id for award in awards if award.person_id})
    certifications: dict[str, Certification] = {}
    criteria: dict[str, CriteriaVersion] = {}
    emails: dict[str, str] = {}
    for part in chunks(certification_ids):
        for row in db.scalars(select(Certification).where(Certification.id.in_(part))):
            certifications[row.id] = row
    for part in chunks(version_ids):
        for version in db.scalars(select(CriteriaVersion).where(CriteriaVersion.id.in_(part))):
            criteria[version.id] = version
    for part in chunks(person_ids):
        query = select(PersonEmail.person_id, PersonEmail.email).where(
            PersonEmail.person_id.in_(part), PersonEmail.primary.is_(True)
        )
        for person_id, email in db.execute(query):
            emails[str(person_id)] = email
    return _Context(certifications, criteria, emails)


_Item = tuple[str, str, str, str, str, datetime, datetime | None, dict[str, str]]
"""One credential to build: award id, credential URL, achievement key, email, salt, validFrom,
validUntil, revocation entry (a tuple: batches of them cross process boundaries)."""


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


def _item(
    award: AwardLike,
    context: _Context,
    achievements: dict[str, ob3.AchievementInfo],
    settings: Settings,
    *,
    credential_id: str,
    salt: str,
    revocation: tuple[str, int],
) -> _Item:
    key = _achievement_key(award)
    if key not in achievements:
        raise NotFound(f"award {award.id}: its certification or criteria version is missing")
    if award.person_id is None:
        raise Conflict(f"award {award.id} has no person; firm credentials are not issued yet")
    email = context.emails.get(award.person_id)
    if email is None:
        raise Conflict(f"award {award.id}: the holder has no primary email address")
    list_id, index = revocation
    entry = statuslist.status_entry(status.list_url(settings, list_id), index, "revocation")
    url = credential_url(settings, credential_id)
    return (award.id, url, key, email, salt, award.issued_at, award.valid_until, entry)


def _build(
    issuer: ob3.IssuerProfile, achievements: dict[str, ob3.AchievementInfo], item: _Item
) -> dict[str, Any]:
    award_id, url, key, email, salt, valid_from, valid_until, entry = item
    try:
        return ob3.build_credential(
            credential_id=url,
            issuer=issuer,
            achievement=achievements[key],
            subject=ob3.SubjectInfo(email=email, salt=salt),
            valid_from=valid_from,
            valid_until=valid_until,
            status_entries=[entry],
        )
    except ValueError as error:
        raise _Refusal(f"award {award_id}: cannot build its credential: {error}") from None


def _unsigned(
    award: AwardLike,
    context: _Context,
    settings: Settings,
    *,
    credential_id: str,
    issuer_id: str,
    salt: str,
    revocation: tuple[str, int],
) -> dict[str, Any]:
    achievements = _achievements(settings, context)
    item = _item(
        award,
        context,
        achievements,
        settings,
        credential_id=credential_id,
        salt=salt,
        revocation=revocation,
    )
    try:
        return _build(issuer_profile(settings, issuer_id), achievements, item)
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
    for part in chunks(sorted(set(award_ids))):
        query = select(IssuedCredential.award_id).where(
            IssuedCredential.award_id.in_(part), IssuedCredential.status.in_(_LIVE)
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
    context = _load_context(db, [award])
    credential_id = new_id("bdg")
    salt = secrets.token_hex(16)
    revocation = status.allocate(db, "revocation", controller=signer.controller)
    suspension = status.allocate(db, "suspension", controller=signer.controller)
    document = _unsigned(
        award,
        context,
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

    issuer: ob3.IssuerProfile
    achievements: dict[str, ob3.AchievementInfo]
    verification_method: str
    created: datetime


_worker: tuple[Ed25519PrivateKey, _Batch] | None = None


def _init_worker(seed: bytes, batch: _Batch) -> None:
    # The seed reaches the worker through the pool's pipe (or a fork), never a file.
    global _worker  # noqa: PLW0603 - per-process state of a pool worker
    _worker = (Ed25519PrivateKey.from_private_bytes(seed), batch)


def _issue_items(key: Ed25519PrivateKey, batch: _Batch, items: list[_Item]) -> list[str]:
    """Build, check, sign and serialize documents; the signed JSON texts, in order."""
    texts = []
    for item in items:
        document = _build(batch.issuer, batch.achievements, item)
        problems = ob3.validate_credential(document)
        if problems:
            raise _Refusal(
                f"award {item[0]}: refusing to sign a credential that does not conform to "
                "Open Badges 3.0: " + "; ".join(problems)
            )
        try:
            # create_proof runs the safe-mode check and refuses undefined terms.
            signed = proofs.create_proof(document, key, batch.verification_method, batch.created)
        except Invalid as error:
            raise _Refusal(f"award {item[0]}: {error.detail}") from None
        texts.append(_serialize(signed))
    return texts


def _issue_chunk(items: list[_Item]) -> list[str]:
    """A pool worker's task: build, check, sign and serialize one chunk of credentials."""
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("signing worker has no key")
    return _issue_items(_worker[0], _worker[1], items)


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

    Idempotent: awards that already have a live credential are skipped. This process loads
    the data, hands out status indexes and ids, and writes; the documents are built, checked
    against the OB 3.0 schema and safe mode, canonicalized and signed in the pool, chunk by
    chunk, while finished chunks are being written.
    """
    actor.require(Permission.AWARDS_ISSUE)
    progress = progress or NoProgress()
    live = _live_for(db, (award.id for award in awards))
    seen: set[str] = set()
    todo: list[AwardLike] = []
    for award in awards:
        if award.id not in live and award.id not in seen:
            seen.add(award.id)
            todo.append(award)
    if not todo:
        return []
    _lock_order(db, actor)
    signer = keyring.active_signer(db, settings)
    context = _load_context(db, todo)
    achievements = _achievements(settings, context)
    revocations = status.allocate_many(db, "revocation", len(todo), controller=signer.controller)
    suspensions = status.allocate_many(db, "suspension", len(todo), controller=signer.controller)
    now = clock.now()
    batch = _Batch(
        issuer_profile(settings, signer.controller),
        achievements,
        signer.verification_method,
        now,
    )
    chunked: list[tuple[list[_Item], list[dict[str, Any]], list[AwardLike]]] = []
    for start in range(0, len(todo), SIGN_CHUNK):
        part = todo[start : start + SIGN_CHUNK]
        items: list[_Item] = []
        rows: list[dict[str, Any]] = []
        for offset, award in enumerate(part):
            item, row = _bulk_item(
                award,
                context,
                achievements,
                settings,
                signer,
                now,
                revocations[start + offset],
                suspensions[start + offset],
            )
            items.append(item)
            rows.append(row)
        chunked.append((items, rows, part))
    progress.phase(f"signing {len(todo):,} credentials", len(todo))
    workers = _workers(workers)
    created: list[str] = []
    try:
        if workers > 1 and len(todo) >= PROCESS_POOL_THRESHOLD:
            with _pool(workers, signer, batch) as pool:
                futures = [pool.submit(_issue_chunk, items) for items, _, _ in chunked]
                # Writing a finished chunk overlaps with the workers signing the next ones.
                for future, (_, rows, part) in zip(futures, chunked, strict=True):
                    created.extend(_store(db, actor, rows, part, future.result()))
                    progress.advance(len(rows))
        else:
            for items, rows, part in chunked:
                texts = _issue_items(signer.private_key, batch, items)
                created.extend(_store(db, actor, rows, part, texts))
                progress.advance(len(rows))
    except _Refusal as refusal:
        raise Invalid(str(refusal)) from None
    db.flush()
    return created


def _store(
    db: Session,
    actor: Principal,
    rows: list[dict[str, Any]],
    awards: Sequence[AwardLike],
    texts: list[str],
) -> list[str]:
    for row, text in zip(rows, texts, strict=True):
        row["document"] = text
    db.execute(insert(table_of(IssuedCredential)), rows)
    events.append_many(
        db,
        actor,
        [
            events.Draft(
                "credential.issued",
                "credential",
                row["id"],
                _issued_payload(row, award),
                award.partner_id,
            )
            for row, award in zip(rows, awards, strict=True)
        ],
    )
    return [row["id"] for row in rows]


def _bulk_item(
    award: AwardLike,
    context: _Context,
    achievements: dict[str, ob3.AchievementInfo],
    settings: Settings,
    signer: keyring.Signer,
    now: datetime,
    revocation: tuple[StatusList, int],
    suspension: tuple[StatusList, int],
) -> tuple[_Item, dict[str, Any]]:
    credential_id = new_id("bdg")
    salt = secrets.token_hex(16)
    item = _item(
        award,
        context,
        achievements,
        settings,
        credential_id=credential_id,
        salt=salt,
        revocation=(revocation[0].id, revocation[1]),
    )
    row = {
        "id": credential_id,
        "award_id": award.id,
        "signing_key_id": signer.key_id,
        "verification_method": signer.verification_method,
        "issued_at": now,
        "valid_from": award.issued_at,
        "valid_until": award.valid_until,
        "revocation_list_id": revocation[0].id,
        "revocation_index": revocation[1],
        "suspension_list_id": suspension[0].id,
        "suspension_index": suspension[1],
        "superseded_by_id": None,
        "status": CredentialStatus.ACTIVE.value,
        "status_reason": None,
        "status_changed_at": None,
        "salt": salt,
        "created_at": now,
    }
    return item, row


def _workers(requested: int) -> int:
    return max(1, min(requested, os.cpu_count() or 1))
