"""Tables of accounts: the people who sign in and the API keys of programs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base, Timestamped


class User(Timestamped, Base):
    """Someone who signs in: vendor staff, or a partner's admin or member."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id", ondelete="RESTRICT"), index=True
    )
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]


class ApiKey(Timestamped, Base):
    """A secret for programs; shown once, stored as a hash, scoped, expiring, revocable."""

    __tablename__ = "api_keys"
    __event_subject__ = "api_key"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class UserSession(Base):
    """A portal sign-in, named by the session cookie; ending it here signs that browser out.

    The cookie carries ``<id>.<secret>``; only the secret's hash is stored, so neither this
    table nor a log line that names the id lets anyone take the session over.
    """

    __tablename__ = "user_sessions"
    __event_subject__ = "user_session"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))


class SignInThrottle(Base):
    """Recent failed sign-ins to one account, or from one client address.

    ``key`` is a hash of the scope and the address or email, so the table holds neither.
    """

    __tablename__ = "sign_in_throttles"
    __event_subject__ = "sign_in_throttle"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    failures: Mapped[int]
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
    forget_at: Mapped[datetime] = mapped_column(index=True)


class HolderSignInLink(Base):
    """A one-time sign-in link mailed to a certified person (a holder), who has no password.

    Only the token's hash is stored; the link works once, until ``expires_at``.
    """

    __tablename__ = "holder_sign_in_links"
    __event_subject__ = "holder_sign_in_link"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class HolderSession(Base):
    """A holder's sign-in, named by the session cookie (apart from users' sessions).

    The cookie carries ``<id>.<secret>``; only the secret's hash is stored.
    """

    __tablename__ = "holder_sessions"
    __event_subject__ = "holder_session"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
