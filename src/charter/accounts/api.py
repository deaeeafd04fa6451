"""Routes of accounts: users and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from charter.accounts import service as accounts
from charter.accounts.models import User
from charter.accounts.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut, UserIn, UserOut
from charter.core.errors import Invalid
from charter.deps import CurrentPrincipal, DbSession, api_router

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


@router.get("/users/me", response_model=UserOut, tags=["users"])
def who_am_i(db: DbSession, actor: CurrentPrincipal) -> User:
    """The signed-in user."""
    if actor.user_id is None:
        raise Invalid("the system principal has no user")
    return accounts.get_user(db, actor.user_id)


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
