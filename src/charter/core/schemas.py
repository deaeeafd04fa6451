"""API shapes of the core: pages, ORM-read models, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

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
