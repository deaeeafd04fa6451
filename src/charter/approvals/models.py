"""Tables of approvals: the requests, and which governance owners each type is routed to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base, Timestamped


class ApprovalRequest(Timestamped, Base):
    """A request for an exception: what should change, why, who asked, and what was decided."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        Index("ix_approval_requests_state_due", "state", "due_at"),
        Index("ix_approval_requests_subject", "subject_type", "subject_id"),
    )
    __event_subject__ = "approval"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    # What the change is about (a license, a firm, an award...), named by kind and id.
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(40))
    # The firm the request concerns, if any: its partner users may see the request.
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("partners.id", ondelete="RESTRICT"), index=True
    )
    # "user", "api_key" or "system"; the user id when a user asked (directly or by API key).
    requested_by_type: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str | None] = mapped_column(String(40), index=True)
    requester_name: Mapped[str] = mapped_column(String(200))
    justification: Mapped[str] = mapped_column(Text)
    # The change to apply once approved, as validated by the type's schema.
    proposed_change: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None]
    # What the applier reported (the ids it made, say), or why it refused.
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)


class ApprovalRoute(Base):
    """One governance owner a type of request is routed to; a type with none goes to them all."""

    __tablename__ = "approval_routes"
    __event_subject__ = "approval_route"

    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


__all__ = ["ApprovalRequest", "ApprovalRoute"]
