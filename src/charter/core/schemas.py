"""API shapes of the core: pages, ORM-read models, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of results; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None


class ORMModel(BaseModel):
    """A response model read from ORM attributes."""

    model_config = ConfigDict(from_attributes=True)


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


class FieldProblem(BaseModel):
    """One input field at fault in a problem-details body."""

    field: str = Field(description="Dotted path of the field (``items.0.person_id``), or a line")
    pointer: str = Field(description="The same field as a JSON Pointer fragment (``#/items/0``)")
    detail: str = Field(description="What is wrong with it")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``).

    Some problems carry more members: ``errors`` names each field at fault; ``unmet`` lists
    unmet criteria or requirements; license routes add a machine-readable ``code``.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/validation",
                    "title": "Invalid input",
                    "status": 422,
                    "detail": "person_id: Field required",
                    "instance": "/api/v1/awards",
                    "errors": [
                        {"field": "person_id", "pointer": "#/person_id", "detail": "Field required"}
                    ],
                }
            ]
        },
    )

    type: str = Field(
        description="The kind of problem: a URI, relative to the server, that explains it "
        "(``/problems/not-found``), or ``about:blank``"
    )
    title: str = Field(description="A short summary of the kind of problem")
    status: int = Field(description="The HTTP status code")
    detail: str | None = Field(default=None, description="What went wrong this time")
    instance: str | None = Field(default=None, description="The path of the request")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Each field at fault (invalid input)"
    )
