"""API shapes of approval requests and approval types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from charter.core.schemas import ORMModel
from charter.core.text import Id, Note, OneLine, Reason

TypeName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=3,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$",
    ),
    OneLine,
]
"""An approval type's name: dotted and lower case (``license.region``)."""

SubjectType = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$"
    ),
    OneLine,
]
"""The kind of thing a request is about (``license``, ``partner``)."""


class ApprovalCreate(BaseModel):
    """A request for an exception, of a type that may be asked for directly."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "license.territory",
                    "subject_type": "license",
                    "subject_id": "lic_01HZXA3M8RWD",
                    "partner_id": "prt_01HZX5D1P9KE",
                    "justification": "A customer in Japan signed; deployment starts in May",
                    "proposed_change": {"add_regions": ["apac"], "add_countries": ["JP"]},
                }
            ]
        },
    )

    type: TypeName
    subject_type: SubjectType
    subject_id: Id
    partner_id: Id | None = None
    justification: Reason
    proposed_change: dict[str, Any] = Field(default_factory=dict)


class ApproveIn(BaseModel):
    """Approving: a note is optional."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Approved for the Fabrikam deployment"}]},
    )

    reason: Note | None = None


class RejectIn(BaseModel):
    """Rejecting needs a reason, which the requester sees."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "Japan needs a local distributor agreement first"}]
        },
    )

    reason: Reason


class WithdrawIn(BaseModel):
    """Withdrawing one's own request: a note is optional."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "The customer chose another region"}]},
    )

    reason: Note | None = None


class OwnersIn(BaseModel):
    """The governance owners a type is routed to; an empty list routes it to every one."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"user_ids": ["usr_01HZX2K7G4NB"]}]}
    )

    user_ids: list[Id] = Field(max_length=50)


class ApprovalOut(ORMModel):
    """An approval request and where it stands."""

    id: str
    type: str
    subject_type: str
    subject_id: str
    partner_id: str | None
    requested_by_type: str
    requested_by: str | None
    requester_name: str
    justification: str
    proposed_change: dict[str, Any]
    state: str
    due_at: datetime
    overdue: bool = False
    escalation_level: int
    escalated_at: datetime | None
    decided_by: str | None
    decided_by_name: str | None
    decided_at: datetime | None
    reason: str | None
    applied_at: datetime | None
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime


class ApprovalTypeOut(BaseModel):
    """A type of request, its SLA and whom it is routed to."""

    name: str
    title: str
    subject_type: str | None
    direct: bool
    sla_hours: float
    applies_change: bool
    owners: list[str] | None
    """The governance owners' user ids it is routed to (empty: every governance owner);
    hidden (null) from partner users."""
