"""The life of an award's credential: issued, reissued, revoked, suspended, reinstated, looked up.

Every award gets an ``OpenBadgeCredential`` signed with the issuer's active key
(``eddsa-rdfc-2022``); the document is built by :mod:`charter.credentials.documents`, stored as
signed and served byte for byte. A correction is a reissue: a new credential for the same
award, the old one revoked. Many awards at once are issued by :mod:`charter.credentials.bulk`,
which signs the same bytes.

A credential carries one ``credentialStatus``, its revocation entry (the OB 3.0 schema allows
one), so a suspension is published on the revocation list: every verifier, not only Charter's,
then sees the suspended badge as not valid, and Charter's records say it is suspended. Since a
revocation is for good, reinstating the award issues it a new credential, to which the old
one's page points, as a renewal's does. A new credential of an award issued before is valid
from its own issue time; its ``awardedDate`` keeps the award's date.

Settings (public URL, issuer profile, secret) come from :func:`charter.db.engine.settings_of`:
the session's when the caller's factory carries them (the app's does), the process settings
otherwise. That keeps the award services' signatures unchanged while letting
an app or a test run with settings other than the environment's.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from charter.config import Settings
from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid, NotFound
from charter.core.eventhash import json_time
from charter.core.ids import is_id, new_id
from charter.credentials import documents, proofs, sources, status
from charter.credentials.documents import AwardLike
from charter.credentials.enums import CredentialStatus
from charter.credentials.models import Award, IssuedCredential
from charter.crypto import keyring
from charter.db.engine import settings_of

LIVE = (CredentialStatus.ACTIVE.value, CredentialStatus.SUSPENDED.value)
"""The statuses of an award's live credential (one at most per award)."""

ISSUED = "credential.issued"
"""The type of the event every issued credential gets, on either path."""


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


def lock_order(db: Session, actor: Principal) -> None:
    """Take the events log lock before any status list lock, as every writer does.

    Award services append their event (which locks the log head) before calling in here;
    taking it first in the other paths too gives one lock order (log head, credential, status
    lists) everywhere, so a bulk issuance and a concurrent revocation cannot deadlock.
    """
    events.append_many(db, actor, [])  # appends nothing, but holds the head lock from now on


def live_for(db: Session, award_ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for part in sources.id_chunks(db, list(set(award_ids))):
        query = select(IssuedCredential.award_id).where(
            sources.one_of(db, IssuedCredential.award_id, part), IssuedCredential.status.in_(LIVE)
        )
        found.update(db.scalars(query))
    return found


def issue_credential(
    db: Session, actor: Principal, *, award: AwardLike, settings: Settings
) -> IssuedCredential:
    """Sign and store the OB 3.0 credential of an award that has no live credential yet."""
    actor.require(Permission.AWARDS_ISSUE)
    return _issue(db, actor, award, settings, valid_from=award.issued_at)


def _issue(
    db: Session, actor: Principal, award: AwardLike, settings: Settings, *, valid_from: datetime
) -> IssuedCredential:
    """Sign and store a credential of ``award`` valid from ``valid_from`` (permission checked
    by the caller)."""
    lock_order(db, actor)
    if live_for(db, [award.id]):
        raise Conflict(f"award {award.id} already has a live credential")
    signer = keyring.active_signer(db, settings)
    programs = sources.load_programs(db, [award])
    holders = sources.load_holders(db, [award])
    credential_id = new_id("bdg")
    salt = secrets.token_hex(16)
    revocation = status.allocate(db, "revocation", controller=signer.controller)
    suspension = status.allocate(db, "suspension", controller=signer.controller)
    document = documents.unsigned_document(
        award,
        programs,
        holders,
        settings,
        credential_id=credential_id,
        issuer_id=signer.controller,
        salt=salt,
        revocation=(revocation[0].id, revocation[1]),
        valid_from=valid_from,
    )
    documents.require_conforming(document)
    now = clock.now()
    # create_proof runs the safe-mode check (jsonld.require_safe) and refuses to sign a
    # document with terms its contexts do not define, naming them.
    signed = proofs.create_proof(document, signer.private_key, signer.verification_method, now)
    row = IssuedCredential(
        id=credential_id,
        award_id=award.id,
        document=documents.serialize(signed),
        signing_key_id=signer.key_id,
        verification_method=signer.verification_method,
        issued_at=now,
        valid_from=valid_from,
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
    payload = issued_payload(
        award_id=award.id,
        person_id=award.person_id,
        verification_method=row.verification_method,
        revocation_list_id=row.revocation_list_id,
        revocation_index=row.revocation_index,
        valid_from=json_time(row.valid_from),
        valid_until=None if row.valid_until is None else json_time(row.valid_until),
    )
    events.append(db, actor, ISSUED, row, partner_id=award.partner_id, **payload)
    return row


def issued_payload(
    *,
    award_id: str,
    person_id: str | None,
    verification_method: str,
    revocation_list_id: str,
    revocation_index: int,
    valid_from: str,
    valid_until: str | None,
) -> dict[str, Any]:
    """The payload of a :data:`ISSUED` event: its one definition, for the single and the bulk
    path (whose pre-rendered text, :class:`charter.credentials.bulk.templates.IssuedText`, is
    checked against it). The dates come rendered as payloads hold them
    (:func:`charter.core.eventhash.json_time`): bulk issuance renders each distinct one once.
    """
    return {
        "award_id": award_id,
        "person_id": person_id,
        "verification_method": verification_method,
        "revocation_list_id": revocation_list_id,
        "revocation_index": revocation_index,
        "valid_from": valid_from,
        "valid_until": valid_until,
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
        .where(IssuedCredential.award_id == award_id, IssuedCredential.status.in_(LIVE))
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
    lock_order(db, actor)
    old = _credential_row(db, credential_id, lock=True)
    if old.status == CredentialStatus.REVOKED.value:
        raise Conflict(f"credential {credential_id} is revoked; it cannot be reissued")
    if old.status == CredentialStatus.SUSPENDED.value:
        # A new credential would be in force while the award is suspended.
        raise Conflict(
            f"credential {credential_id} is suspended; reinstate its award instead of reissuing"
        )
    award = db.get(Award, old.award_id)
    if award is None:  # pragma: no cover - the foreign key forbids it
        raise NotFound(f"award {old.award_id} not found")
    new = _supersede(db, actor, old, award, cleaned)
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


def _supersede(
    db: Session, actor: Principal, old: IssuedCredential, award: Award, reason: str
) -> IssuedCredential:
    """Revoke ``old`` with ``reason`` and issue its award a new credential, valid from now,
    to which ``old`` points (permission checked by the caller)."""
    # Revoke first: the one-live-credential-per-award index must be free for the new one.
    _revoke_row(db, old, reason)
    new = _issue(db, actor, award, settings_of(db), valid_from=clock.now())
    old.superseded_by_id = new.id
    db.flush()
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
    lock_order(db, actor)
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
    """Suspend an award's live credential: its suspension and revocation bits are set at once.

    The revocation bit is what every verifier reads (the credential's one status entry);
    the suspension list and the row's status keep what it means in Charter's records.
    """
    actor.require(Permission.AWARDS_REVOKE)
    lock_order(db, actor)
    live = _live_row(db, award.id)
    if live is None:
        return None
    live.status = CredentialStatus.SUSPENDED.value
    live.status_reason = reason
    live.status_changed_at = clock.now()
    status.set_bit(db, live.suspension_list_id, live.suspension_index, True)
    status.set_bit(db, live.revocation_list_id, live.revocation_index, True)
    db.flush()
    _status_event(db, actor, "credential.suspended", live, award, reason)
    return live


def reinstate_for_award(
    db: Session, actor: Principal, *, award: Award, reason: str | None
) -> IssuedCredential | None:
    """Reinstate an award's suspended credential: a new credential, valid from now.

    The suspended one is revoked on its list for good (a verifier may have cached that), so
    it stays revoked, superseded by the new one; its suspension bit is cleared.
    """
    actor.require(Permission.AWARDS_REVOKE)
    lock_order(db, actor)
    live = _live_row(db, award.id)
    if live is None:
        return None
    if live.status != CredentialStatus.SUSPENDED.value:
        raise Conflict(f"credential {live.id} is not suspended")
    status.set_bit(db, live.suspension_list_id, live.suspension_index, False)
    new = _supersede(db, actor, live, award, "superseded on reinstatement")
    _status_event(db, actor, "credential.reinstated", live, award, reason, new_credential_id=new.id)
    return new


def _status_event(
    db: Session,
    actor: Principal,
    event_type: str,
    row: IssuedCredential,
    award: Award,
    reason: str | None,
    **extra: Any,
) -> None:
    events.append(
        db,
        actor,
        event_type,
        row,
        partner_id=award.partner_id,
        award_id=award.id,
        reason=reason,
        **extra,
    )


def _public(row: IssuedCredential, settings: Settings | None) -> PublicCredential:
    return PublicCredential(
        id=row.id,
        url=documents.credential_url(settings, row.id) if settings is not None else None,
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


def current_credential_ids(db: Session, award_ids: Iterable[str]) -> dict[str, str]:
    """Each award's current credential id, chosen as :func:`current_credential_for_award`
    chooses it (live first, then the latest); awards never issued are left out."""
    ranked: dict[str, tuple[bool, datetime, str]] = {}
    for part in sources.id_chunks(db, list(set(award_ids))):
        query = select(
            IssuedCredential.award_id,
            IssuedCredential.id,
            IssuedCredential.status,
            IssuedCredential.created_at,
        ).where(sources.one_of(db, IssuedCredential.award_id, part))
        for award_id, credential_id, status_value, created_at in db.execute(query):
            rank = (status_value in LIVE, created_at, credential_id)
            if award_id not in ranked or rank > ranked[award_id]:
                ranked[award_id] = rank
    return {award_id: rank[2] for award_id, rank in ranked.items()}


def current_credential_id(
    award_id: ColumnElement[str] | InstrumentedAttribute[str],
) -> ScalarSelect[str]:
    """The id of an award's current credential as a correlated subquery (``award_id`` the
    outer query's award id column), chosen as :func:`current_credential_for_award` chooses it:
    a list of awards reads their credentials in its own statement."""
    return (
        select(IssuedCredential.id)
        .where(IssuedCredential.award_id == award_id)
        .order_by(*_CURRENT_FIRST)
        .limit(1)
        .scalar_subquery()
    )


def current_credential_for_award(
    db: Session, award_id: str, *, settings: Settings | None = None
) -> PublicCredential | None:
    """The award's live credential, or its latest one if none is live; ``None`` if never issued."""
    row = db.scalar(
        select(IssuedCredential)
        .where(IssuedCredential.award_id == award_id)
        .order_by(*_CURRENT_FIRST)
        .limit(1)
    )
    return _public(row, settings) if row is not None else None


# An award's current credential: its live one, else its latest.
_CURRENT_FIRST = (
    IssuedCredential.status.in_(LIVE).desc(),
    IssuedCredential.created_at.desc(),
    IssuedCredential.id.desc(),
)
