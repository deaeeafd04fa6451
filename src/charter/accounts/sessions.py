"""Portal sign-in sessions, recorded on the server so that they can be ended.

The signed cookie alone could not be taken back: a copy replayed after sign-out stayed valid
until it expired. Each sign-in is a row instead, which the cookie names; sign-out ends that
row, and a password change, a role change or disabling a user ends all of the user's rows, so
every browser they were signed in on is signed out at its next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from charter.accounts.models import User, UserSession
from charter.core import clock, events
from charter.core.auth import Permission, Principal, Role
from charter.core.errors import NotFound, Unauthorized
from charter.core.ids import is_id, new_id
from charter.db.engine import settings_of

SEEN_INTERVAL = timedelta(minutes=5)
"""How stale ``last_seen_at`` may get before a request records it again: a write per request
would cost every page view a write transaction; this costs one per session every few minutes."""
KEPT_FOR = timedelta(days=30)
"""How long ended or idle sessions stay listed before a later sign-in of their user drops them."""


class EndReason(StrEnum):
    """Why a session ended."""

    SIGNED_OUT = "signed_out"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a secret
    ROLE_CHANGED = "role_changed"
    USER_DISABLED = "user_disabled"
    ENDED_BY_USER = "ended_by_user"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session's principal, and whether its ``last_seen_at`` should be recorded anew."""

    principal: Principal
    session_id: str
    record_seen: bool


def _digest(secret: str) -> str:
    # 256 random bits: a fast hash is enough, and every signed-in request computes it.
    return hashlib.sha256(secret.encode()).hexdigest()


def _parse(token: str) -> tuple[str, str] | None:
    session_id, _, secret = token.partition(".")
    if not secret or not is_id(session_id, "ses"):
        return None
    return session_id, secret


def start_session(db: Session, user: User) -> str:
    """Record a sign-in of ``user``; returns the token the session cookie carries."""
    now = clock.now()
    horizon = now - KEPT_FOR
    db.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.ended_at < horizon, UserSession.last_seen_at < horizon),
        )
    )
    secret = secrets.token_urlsafe(32)
    record = UserSession(
        id=new_id("ses"),
        user_id=user.id,
        secret_hash=_digest(secret),
        created_at=now,
        last_seen_at=now,
    )
    db.add(record)
    db.flush()
    return f"{record.id}.{secret}"


_SESSION_AND_USER = (
    select(
        UserSession.secret_hash,
        UserSession.ended_at,
        UserSession.last_seen_at,
        User.id,
        User.role,
        User.partner_id,
        User.display_name,
        User.disabled_at,
    )
    .join_from(UserSession, User, UserSession.user_id == User.id)
    .where(UserSession.id == bindparam("session_id"))
)
"""A session and its user in one statement: every signed-in request runs it."""


def session_principal(db: Session, token: str) -> SignedIn:
    """The principal of the live session ``token`` names, or :class:`Unauthorized`."""
    parsed = _parse(token)
    if parsed is None:
        raise Unauthorized("session is no longer valid")
    session_id, secret = parsed
    row = db.connection().execute(_SESSION_AND_USER, {"session_id": session_id}).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(secret)):
        raise Unauthorized("session is no longer valid")
    if row.ended_at is not None or row.disabled_at is not None:
        raise Unauthorized("session is no longer valid")
    now = clock.now()
    idle = now - clock.ensure_utc(row.last_seen_at)
    if idle > timedelta(seconds=settings_of(db).session_max_age_seconds):
        raise Unauthorized("session has expired")
    principal = Principal.for_user(
        user_id=row.id, role=Role(row.role), partner_id=row.partner_id, name=row.display_name
    )
    return SignedIn(principal, session_id, record_seen=idle >= SEEN_INTERVAL)


def record_seen(db: Session, session_id: str) -> None:
    """Note that the session was used now (see :data:`SEEN_INTERVAL`)."""
    db.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(last_seen_at=clock.now())
    )


def end_session(db: Session, token: str) -> None:
    """Sign out: end the session ``token`` names (a token that names none changes nothing)."""
    parsed = _parse(token)
    if parsed is None:
        return
    session_id, secret = parsed
    record = db.get(UserSession, session_id)
    if record is None or not hmac.compare_digest(record.secret_hash, _digest(secret)):
        return
    if record.ended_at is None:
        record.ended_at = clock.now()
        record.end_reason = EndReason.SIGNED_OUT.value


def end_all_sessions(db: Session, user_id: str, reason: EndReason) -> int:
    """End every live session of ``user_id``; returns how many there were.

    Called by the services that change what a user may do or how they prove who they are, in
    their own transaction.
    """
    result = db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=reason.value)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _owner(db: Session, actor: Principal, user_id: str) -> User:
    user = db.get(User, user_id)
    if user is None or (actor.user_id != user_id and not actor.can(Permission.USERS_MANAGE)):
        raise NotFound(f"user {user_id} not found")
    return user


def list_sessions(db: Session, actor: Principal, *, user_id: str) -> list[UserSession]:
    """The sessions of ``user_id`` (one's own, or anyone's for admins), newest first."""
    _owner(db, actor, user_id)
    query = (
        select(UserSession)
        .where(UserSession.user_id == user_id)
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
    )
    return list(db.scalars(query))


def end_sessions_of(db: Session, actor: Principal, *, user_id: str) -> int:
    """Sign ``user_id`` out everywhere (one's own sessions, or anyone's for admins)."""
    user = _owner(db, actor, user_id)
    ended = end_all_sessions(db, user_id, EndReason.ENDED_BY_USER)
    if ended:
        events.append(
            db, actor, "user.sessions_ended", user, partner_id=user.partner_id, count=ended
        )
    return ended
