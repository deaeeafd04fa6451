"""Holders' sign-in: a one-time link mailed to a certified person, then a session of their own.

People who hold awards have no password and are no users: they ask for a link at ``/me``, and
following it (once, within :data:`LINK_LIFETIME`) starts a holder session, recorded apart from
users' sessions (``holder_sessions``), that lets them see and set up their own badges and
nothing else. Asking always gets the same answer whether or not the address is known; asks are
counted per address and per client (:mod:`.throttling`), known or not, so that the count
reveals nothing either. Links and sessions carry 256 random bits, stored as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from charter.accounts import throttling
from charter.accounts.models import HolderSession, HolderSignInLink
from charter.core import clock, events
from charter.core.auth import Principal
from charter.core.errors import Invalid, NotFound, Unauthorized
from charter.core.ids import is_id, new_id
from charter.core.text import normalize_email
from charter.db.engine import settings_of
from charter.partners import people

LINK_LIFETIME = timedelta(minutes=15)
"""How long a mailed sign-in link works (once)."""
LINK_INVALID = "this sign-in link is not valid any more: ask for a new one"
SESSION_INVALID = "holder session is no longer valid"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A sign-in link made for a known address: its token (to mail, never stored) and expiry."""

    link_id: str
    person_id: str
    address: str
    token: str
    expires_at: datetime


def _digest(secret: str) -> str:
    # 256 random bits: a fast hash is enough.
    return hashlib.sha256(secret.encode()).hexdigest()


def _address(email: str) -> str | None:
    try:
        return normalize_email(email)
    except Invalid:
        return None


def request_link(db: Session, *, email: str, client: str | None) -> IssuedLink | None:
    """Make a sign-in link for ``email`` if a person has that address; ``None`` otherwise.

    Raises :class:`~charter.core.errors.TooManyAttempts` while the address or the client asked
    too often; each ask is counted in this transaction, known address or not, so the caller
    commits it whatever the outcome.
    """
    now = clock.now()
    address = _address(email)
    counters = [throttling.Counter(throttling.Scope.LINK_EMAIL, address or email.strip().lower())]
    if client:
        counters.append(throttling.Counter(throttling.Scope.LINK_CLIENT, client))
    throttling.check(db, counters, now=now)
    throttling.record_failures(db, settings_of(db), counters, now=now)
    person_id = people.person_id_by_email(db, address) if address else None
    if address is None or person_id is None:
        return None
    # The person's spent links go as they ask for a new one: the table holds live ones.
    db.execute(
        delete(HolderSignInLink).where(
            HolderSignInLink.person_id == person_id,
            or_(HolderSignInLink.used_at.is_not(None), HolderSignInLink.expires_at <= now),
        )
    )
    token = secrets.token_urlsafe(32)
    link = HolderSignInLink(
        id=new_id("hsl"),
        person_id=person_id,
        token_hash=_digest(token),
        created_at=now,
        expires_at=now + LINK_LIFETIME,
        used_at=None,
    )
    db.add(link)
    db.flush()
    return IssuedLink(link.id, person_id, address, token, link.expires_at)


def _usable_link(db: Session, token: str, *, lock: bool) -> HolderSignInLink:
    if not token or len(token) > 100:
        raise NotFound(LINK_INVALID)
    query = select(HolderSignInLink).where(HolderSignInLink.token_hash == _digest(token))
    if lock:
        query = query.with_for_update()
    link = db.scalar(query)
    if link is None or link.used_at is not None or clock.now() >= link.expires_at:
        raise NotFound(LINK_INVALID)
    return link


def check_link(db: Session, *, token: str) -> None:
    """Raise :class:`NotFound` unless ``token`` names a link that still works (using nothing)."""
    _usable_link(db, token, lock=False)


def sign_in_with_link(db: Session, *, token: str) -> str:
    """Use the link ``token`` names (once, before it expires) and start a holder session.

    Returns the token the session cookie carries; :class:`NotFound` for a link that is
    unknown, used or expired (one answer for all three).
    """
    link = _usable_link(db, token, lock=True)
    now = clock.now()
    link.used_at = now
    person = people.get_person_record(db, link.person_id)
    db.execute(
        delete(HolderSession).where(
            HolderSession.person_id == person.id,
            or_(HolderSession.ended_at.is_not(None), HolderSession.expires_at <= now),
        )
    )
    secret = secrets.token_urlsafe(32)
    record = HolderSession(
        id=new_id("hss"),
        person_id=person.id,
        secret_hash=_digest(secret),
        created_at=now,
        expires_at=now + timedelta(seconds=settings_of(db).session_max_age_seconds),
        ended_at=None,
    )
    db.add(record)
    db.flush()
    actor = Principal.for_holder(person_id=person.id, name=person.display_name)
    events.append(
        db, actor, "holder.signed_in", person, partner_id=person.partner_id, session_id=record.id
    )
    return f"{record.id}.{secret}"


def _parse(token: str) -> tuple[str, str] | None:
    session_id, _, secret = token.partition(".")
    if not secret or not is_id(session_id, "hss"):
        return None
    return session_id, secret


def holder_principal(db: Session, token: str) -> Principal:
    """The holder whose live session ``token`` names; :class:`Unauthorized` otherwise."""
    parsed = _parse(token)
    if parsed is None:
        raise Unauthorized(SESSION_INVALID)
    session_id, secret = parsed
    record = db.get(HolderSession, session_id)
    if record is None or not hmac.compare_digest(record.secret_hash, _digest(secret)):
        raise Unauthorized(SESSION_INVALID)
    if record.ended_at is not None or clock.now() >= record.expires_at:
        raise Unauthorized(SESSION_INVALID)
    person = people.get_person_record(db, record.person_id)
    return Principal.for_holder(person_id=person.id, name=person.display_name)


def end_holder_session(db: Session, token: str) -> None:
    """Sign the holder out: end the session ``token`` names (anything else changes nothing)."""
    parsed = _parse(token)
    if parsed is None:
        return
    session_id, secret = parsed
    record = db.get(HolderSession, session_id)
    if record is None or not hmac.compare_digest(record.secret_hash, _digest(secret)):
        return
    db.execute(
        update(HolderSession)
        .where(HolderSession.id == session_id, HolderSession.ended_at.is_(None))
        .values(ended_at=clock.now())
    )
