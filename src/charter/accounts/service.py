"""Users and API keys: creation, sign-in, and resolving a presented secret to a principal."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from charter.accounts import sessions, throttling
from charter.accounts.models import ApiKey, SignInThrottle, User
from charter.core import clock, events
from charter.core.auth import (
    Permission,
    Principal,
    Role,
    hash_password,
    password_needs_rehash,
    verify_password,
)
from charter.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
)
from charter.core.ids import new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate
from charter.core.text import normalize_email, text_filter
from charter.db.engine import settings_of
from charter.partners import service as partners

API_KEY_PREFIX = "chk"
MIN_PASSWORD_LENGTH = 12
# A fixed hash to verify against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = hash_password("charter-timing-equalizer")


def principal_for(user: User, *, api_key: ApiKey | None = None) -> Principal:
    """The principal a user acts as, narrowed by the key's scopes when one is used."""
    scopes = None
    if api_key is not None:
        scopes = frozenset(Permission(scope) for scope in api_key.scopes)
    return Principal.for_user(
        user_id=user.id,
        role=Role(user.role),
        partner_id=user.partner_id,
        name=user.display_name,
        api_key_id=api_key.id if api_key else None,
        scopes=scopes,
    )


def create_user(
    db: Session,
    actor: Principal,
    *,
    email: str,
    display_name: str,
    role: Role,
    password: str | None,
    partner_id: str | None = None,
) -> User:
    """Create a user; partner roles must name their firm, vendor roles must not."""
    actor.require(Permission.USERS_MANAGE)
    address = normalize_email(email)
    if role.is_partner_role and not partner_id:
        raise Invalid.field("partner_id", f"a {role.value} user must belong to a partner")
    if not role.is_partner_role and partner_id:
        raise Invalid.field("partner_id", f"a {role.value} user cannot belong to a partner")
    if partner_id:
        partners.get_partner(db, Principal.system(), partner_id=partner_id)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid.field("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if db.scalar(select(User.id).where(User.email == address)):
        raise Conflict(f"a user with email {address} already exists")
    user = User(
        id=new_id("usr"),
        email=address,
        display_name=display_name.strip() or address,
        password_hash=hash_password(password) if password else None,
        role=role.value,
        partner_id=partner_id,
    )
    db.add(user)
    db.flush()
    events.append(
        db, actor, "user.created", user, partner_id=partner_id, role=role.value, email=address
    )
    return user


def get_user(db: Session, user_id: str) -> User:
    """A user by id."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def list_users(
    db: Session,
    actor: Principal,
    *,
    role: Role | None = None,
    partner_id: str | None = None,
    disabled: bool | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[User]:
    """Users matching every filter given (``q``: email or name contains, any case), by id
    (creation order), one page at a time. Those who manage users only."""
    actor.require(Permission.USERS_MANAGE)
    check_cursor(cursor)
    partner_id = text_filter(partner_id, "partner_id")
    query = select(User)
    if role is not None:
        query = query.where(User.role == role.value)
    if partner_id is not None:
        query = query.where(User.partner_id == partner_id)
    if disabled is not None:
        query = query.where(
            User.disabled_at.is_not(None) if disabled else User.disabled_at.is_(None)
        )
    search = text_filter(q, "q")
    if search is not None:
        query = query.where(
            User.email.icontains(search, autoescape=True)
            | User.display_name.icontains(search, autoescape=True)
        )
    return paginate(db, query, User.id, cursor=cursor, limit=limit)


def authenticate(db: Session, *, email: str, password: str) -> User:
    """The user with these credentials, or :class:`Unauthorized`."""
    user = db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.password_hash is None:
        verify_password(_DUMMY_HASH, password)
        raise Unauthorized("email or password is wrong")
    if not verify_password(user.password_hash, password) or user.disabled_at is not None:
        raise Unauthorized("email or password is wrong")
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    return user


def sign_in(db: Session, *, email: str, password: str, address: str | None) -> User:
    """Authenticate a sign-in attempt from client ``address``, throttled per account and address.

    Raises :class:`TooManyAttempts` without checking the password while the account or the
    address must wait, and :class:`Unauthorized` for wrong credentials, after counting the
    failure in this transaction: the caller commits it (it answers the refusal, rather than
    letting the error roll the transaction back).
    """
    now = clock.now()
    account = throttling.Counter(throttling.Scope.ACCOUNT, email.strip().lower())
    counters = [account]
    if address:
        counters.append(throttling.Counter(throttling.Scope.ADDRESS, address))
    throttling.check(db, counters, now=now)
    try:
        user = authenticate(db, email=email, password=password)
    except Unauthorized:
        settings = settings_of(db)
        for failure in throttling.record_failures(db, settings, counters, now=now):
            if failure.crossed:
                _record_throttled(db, failure, address=address)
        raise
    throttling.forget(db, account)
    return user


def _record_throttled(db: Session, failure: throttling.Failure, *, address: str | None) -> None:
    """An event when a counter reaches its threshold (not for every failure after it)."""
    actor = Principal.system("sign-in")
    details: dict[str, Any] = {
        "scope": failure.counter.scope.value,
        "failures": failure.failures,
        "retry_after_seconds": throttling.seconds(failure.wait),
        "address": address,
    }
    if failure.counter.scope is throttling.Scope.ADDRESS:
        row = db.scalar(select(SignInThrottle).where(SignInThrottle.key == failure.counter.key))
        if row is not None:
            events.append(db, actor, "sign_in.throttled", row, **details)
        return
    user = db.scalar(select(User).where(User.email == failure.counter.value))
    if user is not None:  # unknown addresses are no account: the address count covers them
        events.append(db, actor, "sign_in.throttled", user, partner_id=user.partner_id, **details)


def _secret_digest(secret: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is enough (and keeps each request cheap).
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    db: Session,
    actor: Principal,
    *,
    user_id: str,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for ``user_id``; returns it with the token, which is never shown again."""
    actor.require(Permission.API_KEYS_MANAGE)
    user = get_user(db, user_id)
    if actor.user_id != user.id:
        actor.require(Permission.USERS_MANAGE)
    role_permissions = principal_for(user).permissions
    # No one hands out more than they hold: a caller acting through a scoped key grants at
    # most that key's scopes, whatever the user's role would allow.
    grantable = role_permissions & actor.permissions
    if scopes is None:
        chosen = set(grantable)
    else:
        chosen = set()
        for index, scope in enumerate(scopes):
            try:
                permission = Permission(scope)
            except ValueError:
                raise Invalid.field(f"scopes.{index}", f"unknown scope {scope!r}") from None
            if permission not in role_permissions:
                raise Invalid.field(f"scopes.{index}", f"the user's role does not allow {scope!r}")
            chosen.add(permission)
        beyond = sorted(scope.value for scope in chosen - grantable)
        if beyond:
            raise _wider_than_caller(beyond)
    if expires_at is not None and expires_at <= clock.now():
        raise Invalid.field("expires_at", "must be in the future")
    key = ApiKey(
        id=new_id("key"),
        user_id=user.id,
        name=name.strip() or "API key",
        scopes=sorted(scope.value for scope in chosen),
        expires_at=expires_at,
        secret_hash="",
    )
    secret = secrets.token_urlsafe(32)
    key.secret_hash = _secret_digest(secret)
    db.add(key)
    db.flush()
    events.append(
        db,
        actor,
        "api_key.created",
        key,
        partner_id=user.partner_id,
        user_id=user.id,
        scopes=key.scopes,
        expires_at=expires_at,
    )
    return key, f"{API_KEY_PREFIX}_{key.id}.{secret}"


def _wider_than_caller(scopes: list[str]) -> Forbidden:
    detail = "a key cannot be wider than its creator's own permissions: " + ", ".join(scopes)
    field = FieldError("scopes", f"the caller does not hold {', '.join(scopes)}")
    return Forbidden(detail, errors=[field.as_dict()])


def list_api_keys(db: Session, actor: Principal, *, user_id: str | None = None) -> list[ApiKey]:
    """Keys of ``user_id`` (the caller's own unless they manage users)."""
    actor.require(Permission.API_KEYS_MANAGE)
    if user_id != actor.user_id and not actor.can(Permission.USERS_MANAGE):
        user_id = actor.user_id
    query = select(ApiKey).order_by(ApiKey.id)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return list(db.scalars(query))


def revoke_api_key(db: Session, actor: Principal, *, key_id: str) -> ApiKey:
    """Revoke a key at once; later requests with it are refused."""
    actor.require(Permission.API_KEYS_MANAGE)
    key = db.get(ApiKey, key_id)
    if key is None or (key.user_id != actor.user_id and not actor.can(Permission.USERS_MANAGE)):
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is not None:
        raise Conflict("API key is already revoked")
    key.revoked_at = clock.now()
    events.append(db, actor, "api_key.revoked", key, user_id=key.user_id)
    return key


_KEY_AND_USER = (
    select(
        ApiKey.secret_hash,
        ApiKey.revoked_at,
        ApiKey.expires_at,
        ApiKey.scopes,
        User.id,
        User.role,
        User.partner_id,
        User.display_name,
        User.disabled_at,
    )
    .join_from(ApiKey, User, ApiKey.user_id == User.id, isouter=True)
    .where(ApiKey.id == bindparam("key_id"))
)
"""A key and its user in one statement: every API call runs it, so it loads no objects."""


def principal_from_token(db: Session, token: str) -> Principal:
    """Resolve ``chk_<key id>.<secret>`` to its principal, or :class:`Unauthorized`."""
    return resolve_token(db, token)[0]


def resolve_token(db: Session, token: str) -> tuple[Principal, datetime | None]:
    """The principal of ``chk_<key id>.<secret>`` and when the key expires (``None``: never),
    or :class:`Unauthorized`."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition(".")
    if prefix != API_KEY_PREFIX or not secret:
        raise Unauthorized("malformed API key")
    row = db.connection().execute(_KEY_AND_USER, {"key_id": key_id}).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _secret_digest(secret)):
        raise Unauthorized("unknown API key")
    now = clock.now()
    if row.revoked_at is not None:
        raise Unauthorized("API key has been revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("API key has expired")
    if row.id is None or row.disabled_at is not None:
        raise Unauthorized("the key's user is disabled")
    principal = Principal.for_user(
        user_id=row.id,
        role=Role(row.role),
        partner_id=row.partner_id,
        name=row.display_name,
        api_key_id=key_id,
        scopes=frozenset(Permission(scope) for scope in row.scopes),
    )
    return principal, row.expires_at


def change_password(
    db: Session,
    actor: Principal,
    *,
    user_id: str,
    new_password: str,
    current_password: str | None = None,
) -> User:
    """Set a user's password and sign them out everywhere.

    Users change their own with their current password; admins set anyone else's.
    """
    user = get_user(db, user_id)
    if actor.user_id == user.id:
        if user.password_hash is None or not verify_password(
            user.password_hash, current_password or ""
        ):
            raise Invalid.field("current_password", "is not the current password")
    else:
        actor.require(Permission.USERS_MANAGE)
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise Invalid.field("new_password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(new_password)
    ended = sessions.end_all_sessions(db, user.id, sessions.EndReason.PASSWORD_CHANGED)
    events.append(
        db, actor, "user.password_changed", user, partner_id=user.partner_id, sessions_ended=ended
    )
    return user


def change_role(db: Session, actor: Principal, *, user_id: str, role: Role) -> User:
    """Give a user another role; they are signed out everywhere, so no page keeps the old one."""
    actor.require(Permission.USERS_MANAGE)
    user = get_user(db, user_id)
    if role.is_partner_role and user.partner_id is None:
        raise Invalid.field("role", f"a {role.value} user must belong to a partner")
    if not role.is_partner_role and user.partner_id is not None:
        raise Invalid.field("role", f"a partner's user cannot be {role.value}")
    if user.role == role.value:
        return user
    previous, user.role = user.role, role.value
    ended = sessions.end_all_sessions(db, user.id, sessions.EndReason.ROLE_CHANGED)
    events.append(
        db,
        actor,
        "user.role_changed",
        user,
        partner_id=user.partner_id,
        previous_role=previous,
        role=role.value,
        sessions_ended=ended,
    )
    return user


def disable_user(db: Session, actor: Principal, *, user_id: str, reason: str = "") -> User:
    """Stop a user signing in; their sessions end and their API keys stop working."""
    actor.require(Permission.USERS_MANAGE)
    user = get_user(db, user_id)
    if actor.user_id == user.id:
        raise Conflict("you cannot disable yourself")
    if user.disabled_at is not None:
        return user
    user.disabled_at = clock.now()
    ended = sessions.end_all_sessions(db, user.id, sessions.EndReason.USER_DISABLED)
    events.append(
        db,
        actor,
        "user.disabled",
        user,
        partner_id=user.partner_id,
        reason=reason,
        sessions_ended=ended,
    )
    return user


def enable_user(db: Session, actor: Principal, *, user_id: str) -> User:
    """Let a disabled user sign in again (their old sessions stay ended)."""
    actor.require(Permission.USERS_MANAGE)
    user = get_user(db, user_id)
    if user.disabled_at is None:
        return user
    user.disabled_at = None
    events.append(db, actor, "user.enabled", user, partner_id=user.partner_id)
    return user


def disable_partner_access(
    db: Session, actor: Principal, *, partner_id: str, reason: str
) -> tuple[list[str], list[str]]:
    """Disable every user of a firm and revoke their API keys (when the firm is terminated).

    Returns the ids of the users disabled and of the keys revoked; users and keys already
    disabled or revoked are left as they are, so calling it again changes nothing.
    """
    actor.require(Permission.PARTNERS_LIFECYCLE)
    now = clock.now()
    users = list(db.scalars(select(User).where(User.partner_id == partner_id).order_by(User.id)))
    disabled: list[str] = []
    revoked: list[str] = []
    for user in users:
        if user.disabled_at is None:
            user.disabled_at = now
            disabled.append(user.id)
            ended = sessions.end_all_sessions(db, user.id, sessions.EndReason.USER_DISABLED)
            events.append(
                db,
                actor,
                "user.disabled",
                user,
                partner_id=partner_id,
                reason=reason,
                sessions_ended=ended,
            )
        keys = db.scalars(
            select(ApiKey)
            .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.id)
        )
        for key in keys:
            key.revoked_at = now
            revoked.append(key.id)
            events.append(
                db,
                actor,
                "api_key.revoked",
                key,
                partner_id=partner_id,
                user_id=user.id,
                reason=reason,
            )
    db.flush()
    return disabled, revoked


def enabled_users_with_role(
    db: Session, role: Role, *, among: Collection[str] | None = None
) -> list[User]:
    """The enabled users holding ``role`` (only those whose ids are ``among``, if given), by id."""
    query = select(User).where(User.role == Role(role).value, User.disabled_at.is_(None))
    if among is not None:
        query = query.where(User.id.in_(list(among)))
    return list(db.scalars(query.order_by(User.id)))
