"""Routes of the core: users, API keys and the events log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from charter.core import accounts, eventverify
from charter.core.auth import Permission
from charter.core.errors import Invalid
from charter.core.models import Event, User
from charter.core.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    ChainReportOut,
    EventOut,
    Page,
    UserIn,
    UserOut,
)
from charter.deps import CurrentPrincipal, DbSession, Limit

router = APIRouter()


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


@router.get("/events", response_model=Page[EventOut], tags=["events"])
def list_events(
    db: DbSession,
    actor: CurrentPrincipal,
    type: Annotated[str | None, Query(max_length=64)] = None,
    subject_id: Annotated[str | None, Query(max_length=40)] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Limit = 50,
) -> Page[EventOut]:
    """The events log in order; partner users see their firm's events only."""
    actor.require(Permission.EVENTS_READ)
    query = select(Event).where(Event.seq > after_seq)
    if type:
        query = query.where(Event.type == type)
    if subject_id:
        query = query.where(Event.subject_id == subject_id)
    if actor.partner_scope is not None:
        query = query.where(Event.partner_id == actor.partner_scope)
    rows = list(db.scalars(query.order_by(Event.seq).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [EventOut.model_validate(row) for row in rows]
    return Page(items=items, next_cursor=str(rows[-1].seq) if more else None)


@router.get("/events/verify", response_model=ChainReportOut, tags=["events"])
def verify_events(db: DbSession, actor: CurrentPrincipal) -> ChainReportOut:
    """Walk the whole chain and report the first entry altered, removed or reordered."""
    actor.require(Permission.EVENTS_READ)
    if actor.partner_scope is not None:
        actor.require(Permission.USERS_MANAGE)
    return ChainReportOut(**asdict(eventverify.verify_chain(db)))
