"""Webhooks tables: endpoints that subscribe to event types, and every delivery to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charter.db.base import Base


class WebhookEndpoint(Base):
    """A URL that receives the events it subscribes to, signed with its own secret.

    The secret is stored sealed (AES-256-GCM under a key derived from the deployment secret,
    bound to the endpoint id); after a rotation the previous one keeps signing alongside the
    new one until ``previous_secret_expires_at``, so receivers can switch without a gap.
    """

    __tablename__ = "webhook_endpoints"
    __event_subject__ = "webhook_endpoint"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[Any]]
    active: Mapped[bool] = mapped_column(default=True)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    previous_sealed_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event sent (or to be sent) to one endpoint; its id is the ``Charter-Delivery`` and
    ``webhook-id`` headers.

    ``key`` is unique: ``<endpoint>:<event>`` for the delivery an event causes, so fanning out
    an event twice creates nothing new; a replay is a new delivery with its own key and id.
    """

    __tablename__ = "webhook_deliveries"
    __event_subject__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    replay_of: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
