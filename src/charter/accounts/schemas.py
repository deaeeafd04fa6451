"""API shapes of accounts: users and API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from charter.core.auth import Role
from charter.core.schemas import ORMModel
from charter.core.text import Id, Line, Name


class UserIn(BaseModel):
    """A new user."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "pat.lee@example.com",
                    "display_name": "Pat Lee",
                    "role": "program_manager",
                }
            ]
        },
    )

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

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "crm-sync",
                    "scopes": ["partners:read", "awards:read"],
                    "expires_at": "2027-01-31T00:00:00Z",
                }
            ]
        },
    )

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


class PasswordChange(BaseModel):
    """A new password; one's own needs the current one too."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "new_password": "correct horse battery staple",
                    "current_password": "an older passphrase",
                }
            ]
        },
    )

    new_password: str = Field(max_length=1000)
    current_password: str | None = Field(default=None, max_length=1000)


class RoleChange(BaseModel):
    """A user's new role."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "program_manager"}]}
    )

    role: Role


class UserDisable(BaseModel):
    """Why a user is disabled (kept in the events log)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Left the company"}]}
    )

    reason: Line = Field(default="", max_length=500)


class UserSessionOut(ORMModel):
    """A portal sign-in of a user (never its secret)."""

    id: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    end_reason: str | None


class SessionsEnded(BaseModel):
    """How many sessions were ended."""

    ended: int
