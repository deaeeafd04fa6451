"""API shapes of the core: users, API keys, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from charter.core.auth import Role
from charter.core.text import Id, Line, Name

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of results; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None


class ORMModel(BaseModel):
    """A response model read from ORM attributes."""

    model_config = ConfigDict(from_attributes=True)


class UserIn(BaseModel):
    """A new user."""

    model_config = ConfigDict(extra="forbid")

    email: Line = Field(max_length=320)
    display_name: Name
    role: Role
    password: str | None = Field(default=None, max_length=1000)
    partner_id: Id | None = None


class UserOut(ORMModel):
    """A user as the API shows it (never the password hash)."""

    id: str
    email: str
    display_name: str
    role: Role
    partner_id: str | None
    created_at: datetime
    disabled_at: datetime | None


class ApiKeyIn(BaseModel):
    """A new API key; scopes default to everything the user's role allows."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    user_id: Id | None = None
    scopes: list[Line] | None = Field(default=None, max_length=50)
    expires_at: datetime | None = None


class ApiKeyOut(ORMModel):
    """An API key's metadata (the secret is never shown again)."""

    id: str
    user_id: str
    name: str
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    """A freshly created key, with its token: store it now."""

    token: str


class EventOut(ORMModel):
    """One entry of the events log."""

    seq: int
    id: str
    occurred_at: datetime
    actor_type: str
    actor_id: str | None
    type: str
    subject_type: str
    subject_id: str
    partner_id: str | None
    payload: dict[str, Any]
    hash: str


class ChainReportOut(BaseModel):
    """Result of verifying the events chain."""

    ok: bool
    checked: int
    problem: str | None
    seq: int | None
    event_id: str | None
