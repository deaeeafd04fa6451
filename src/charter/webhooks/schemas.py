"""API shapes of webhook endpoints and deliveries."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from charter.core.schemas import ORMModel
from charter.core.text import Line


class EndpointCreate(BaseModel):
    """A new endpoint: where to send, and which event types (``award.revoked``, ``award.*``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://crm.example.com/hooks/charter",
                    "event_types": ["award.issued", "award.revoked", "firm.*"],
                    "description": "CRM partner sync",
                    "active": True,
                }
            ]
        },
    )

    url: str = Field(max_length=2000)
    event_types: list[Line] = Field(min_length=1, max_length=100)
    description: Line | None = Field(default=None, max_length=500)
    active: bool = True


class EndpointUpdate(BaseModel):
    """Changes to an endpoint; fields left out are kept."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"event_types": ["award.*"], "active": True}]},
    )

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[Line] | None = Field(default=None, min_length=1, max_length=100)
    description: Line | None = Field(default=None, max_length=500)
    active: bool | None = None


class EndpointOut(ORMModel):
    """An endpoint (never its secret, which is shown once, at creation or rotation)."""

    id: str
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None


class EndpointCreated(EndpointOut):
    """A new endpoint with its signing secret: store it now, it is not shown again."""

    secret: str


class SecretRotated(BaseModel):
    """The new signing secret; the previous one keeps signing until the time given."""

    id: str
    secret: str
    previous_secret_expires_at: datetime


class DeliveryOut(ORMModel):
    """One delivery of one event to one endpoint, with how its attempts went."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    replay_of: str | None
