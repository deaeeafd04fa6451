"""Routes of accounts: users and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.accounts import sessions
from charter.accounts.models import User, UserSession
from charter.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    PasswordChange,
    RoleChange,
    SessionsEnded,
    UserDisable,
    UserIn,
    UserOut,
    UserSessionOut,
)
from charter.core.auth import Principal, Role
from charter.core.errors import Invalid
from charter.core.pagination import DEFAULT_LIMIT
from charter.core.schemas import Page
from charter.deps import (
    CurrentPrincipal,
    Cursor,
    DbSession,
    Limit,
    answers_kept,
    api_router,
    kept_json,
)

router = api_router()


@router.post("/users", status_code=201, response_model=UserOut, tags=["users"])
def create_user(body: UserIn, db: DbSession, actor: CurrentPrincipal) -> User:
    """Create a user (admins only)."""
    return accounts.create_user(
        db,
        actor,
        email=body.email,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
        partner_id=body.partner_id,
    )


@router.get("/users", response_model=Page[UserOut], tags=["users"])
def list_users(
    db: DbSession,
    actor: CurrentPrincipal,
    role: Annotated[Role | None, Query(description="Only users with this role")] = None,
    partner_id: Annotated[
        str | None,
        Query(max_length=40, pattern=r"^[A-Za-z0-9_]+$", description="Only this firm's (prt_…)"),
    ] = None,
    disabled: Annotated[
        bool | None, Query(description="true: disabled users only; false: enabled users only")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Email or name contains (any case)")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[UserOut]:
    """Users, filtered (those who manage users only)."""
    page = accounts.list_users(
        db,
        actor,
        role=role,
        partner_id=partner_id,
        disabled=disabled,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    items = [UserOut.model_validate(user) for user in page.items]
    return Page[UserOut](items=items, next_cursor=page.next_cursor)


@router.get("/users/me", response_model=UserOut, tags=["users"])
@answers_kept
async def who_am_i(request: Request, actor: CurrentPrincipal) -> Response:
    """The signed-in user (with an ``ETag``: ``If-None-Match`` gives ``304``)."""
    user_id = actor.user_id
    if user_id is None:
        raise Invalid("the system principal has no user")

    def user(db: Session) -> tuple[bytes, None]:
        return _USER.dump_json(UserOut.model_validate(accounts.get_user(db, user_id))), None

    return await kept_json(request, actor, user)


_USER = TypeAdapter(UserOut)


def _user_id(actor: Principal, user_id: str) -> str:
    """``me`` is the caller."""
    if user_id != "me":
        return user_id
    if actor.user_id is None:
        raise Invalid("the system principal has no user")
    return actor.user_id


@router.post("/users/{user_id}/password", status_code=204, tags=["users"])
def change_password(
    user_id: str, body: PasswordChange, db: DbSession, actor: CurrentPrincipal
) -> Response:
    """Set a password (one's own needs the current one); the user is signed out everywhere."""
    accounts.change_password(
        db,
        actor,
        user_id=_user_id(actor, user_id),
        new_password=body.new_password,
        current_password=body.current_password,
    )
    return Response(status_code=204)


@router.post("/users/{user_id}/role", response_model=UserOut, tags=["users"])
def change_role(user_id: str, body: RoleChange, db: DbSession, actor: CurrentPrincipal) -> User:
    """Give a user another role (admins only); the user is signed out everywhere."""
    return accounts.change_role(db, actor, user_id=_user_id(actor, user_id), role=body.role)


@router.post("/users/{user_id}/disable", response_model=UserOut, tags=["users"])
def disable_user(
    user_id: str, db: DbSession, actor: CurrentPrincipal, body: UserDisable | None = None
) -> User:
    """Stop a user signing in (admins only); their sessions end and their keys stop working."""
    reason = body.reason if body is not None else ""
    return accounts.disable_user(db, actor, user_id=_user_id(actor, user_id), reason=reason)


@router.post("/users/{user_id}/enable", response_model=UserOut, tags=["users"])
def enable_user(user_id: str, db: DbSession, actor: CurrentPrincipal) -> User:
    """Let a disabled user sign in again (admins only)."""
    return accounts.enable_user(db, actor, user_id=_user_id(actor, user_id))


@router.get("/users/{user_id}/sessions", response_model=list[UserSessionOut], tags=["users"])
def list_sessions(user_id: str, db: DbSession, actor: CurrentPrincipal) -> list[UserSession]:
    """A user's portal sign-ins, newest first (one's own, or anyone's for admins)."""
    return sessions.list_sessions(db, actor, user_id=_user_id(actor, user_id))


@router.post("/users/{user_id}/sessions/end", response_model=SessionsEnded, tags=["users"])
def end_sessions(user_id: str, db: DbSession, actor: CurrentPrincipal) -> SessionsEnded:
    """Sign a user out of the portal everywhere (oneself, or anyone for admins)."""
    ended = sessions.end_sessions_of(db, actor, user_id=_user_id(actor, user_id))
    return SessionsEnded(ended=ended)


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, tags=["api keys"])
def create_api_key(body: ApiKeyIn, db: DbSession, actor: CurrentPrincipal) -> ApiKeyCreated:
    """Create an API key; its token is in this response only."""
    user_id = body.user_id or actor.user_id
    if user_id is None:
        raise Invalid.field("user_id", "required")
    key, token = accounts.create_api_key(
        db, actor, user_id=user_id, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), token=token)


@router.get("/api-keys", response_model=list[ApiKeyOut], tags=["api keys"])
def list_api_keys(
    db: DbSession,
    actor: CurrentPrincipal,
    user_id: Annotated[str | None, Query(max_length=40)] = None,
) -> list[ApiKeyOut]:
    """API keys of the caller (or of ``user_id``, for admins)."""
    return [
        ApiKeyOut.model_validate(key) for key in accounts.list_api_keys(db, actor, user_id=user_id)
    ]


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyOut, tags=["api keys"])
def revoke_api_key(key_id: str, db: DbSession, actor: CurrentPrincipal) -> ApiKeyOut:
    """Revoke an API key at once."""
    return ApiKeyOut.model_validate(accounts.revoke_api_key(db, actor, key_id=key_id))
