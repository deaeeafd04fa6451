"""Webhook endpoints and deliveries: the only writers of the webhooks tables.

Managing endpoints needs ``webhooks:manage`` (admins and program managers): an endpoint
receives events of every firm, so partner users never manage or see one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.core.models import Event
from charter.core.pagination import Page, paginate
from charter.webhooks import sealing, signing, transport
from charter.webhooks.enums import DeliveryStatus
from charter.webhooks.models import WebhookDelivery, WebhookEndpoint
from charter.webhooks.schemas import EndpointCreate, EndpointUpdate
from charter.worker import jobs

DELIVER_TASK = "webhooks.deliver"
# After a rotation the old secret keeps signing beside the new one for this long.
ROTATION_OVERLAP = timedelta(hours=24)
_EVENT_TYPE = re.compile(r"^(\*|[a-z][a-z_]*\.(\*|[a-z][a-z_]*))$")


def matches(patterns: list[str], event_type: str) -> bool:
    """Whether ``event_type`` is one of ``patterns`` (exact, ``noun.*`` or ``*``)."""
    for pattern in patterns:
        if pattern in {"*", event_type}:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def _event_types(values: list[str]) -> list[str]:
    cleaned = []
    for index, raw in enumerate(values):
        value = raw.strip()
        if not _EVENT_TYPE.match(value):
            raise Invalid.field(
                f"event_types.{index}",
                f"{value!r} is not an event type (award.revoked), a family (award.*) or *",
            )
        cleaned.append(value)
    return sorted(set(cleaned))


def _endpoint(db: Session, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    found = None
    if is_id(endpoint_id, "whk"):
        query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
        found = db.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return found


def create_endpoint(
    db: Session, actor: Principal, settings: Settings, *, data: EndpointCreate
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its secret, which is never shown again."""
    actor.require(Permission.WEBHOOKS_MANAGE)
    url = transport.validate_url(data.url, allow_private=settings.webhook_allow_private)
    now = clock.now()
    endpoint_id = new_id("whk")
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        url=url,
        description=data.description,
        event_types=_event_types(data.event_types),
        active=data.active,
        sealed_secret=sealing.seal(settings, endpoint_id, secret),
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    db.add(endpoint)
    db.flush()
    events.append(
        db, actor, "webhook_endpoint.created", endpoint,
        url=url, event_types=endpoint.event_types, active=endpoint.active,
    )  # fmt: skip
    return endpoint, secret


def list_endpoints(
    db: Session, actor: Principal, *, cursor: str | None, limit: int
) -> Page[WebhookEndpoint]:
    """Endpoints, oldest first."""
    actor.require(Permission.WEBHOOKS_MANAGE)
    return paginate(db, select(WebhookEndpoint), WebhookEndpoint.id, cursor=cursor, limit=limit)


def get_endpoint(db: Session, actor: Principal, *, endpoint_id: str) -> WebhookEndpoint:
    """One endpoint."""
    actor.require(Permission.WEBHOOKS_MANAGE)
    return _endpoint(db, endpoint_id)


def update_endpoint(
    db: Session, actor: Principal, settings: Settings, *, endpoint_id: str, data: EndpointUpdate
) -> WebhookEndpoint:
    """Change an endpoint's URL, event types, description, or pause it (``active``).

    A paused endpoint gets no deliveries for events that happen meanwhile; those already
    queued wait, retried as usual (so for up to three days).
    """
    actor.require(Permission.WEBHOOKS_MANAGE)
    endpoint = _endpoint(db, endpoint_id, lock=True)
    changes: dict[str, Any] = {}
    fields = data.model_dump(exclude_unset=True)
    for name in ("url", "event_types", "active"):
        if name in fields and fields[name] is None:
            raise Invalid.field(name, "must not be null")
    if "url" in fields:
        changes["url"] = transport.validate_url(
            fields["url"], allow_private=settings.webhook_allow_private
        )
    if "event_types" in fields:
        changes["event_types"] = _event_types(fields["event_types"])
    if "description" in fields:
        changes["description"] = fields["description"]
    if "active" in fields:
        changes["active"] = fields["active"]
    changes = {name: value for name, value in changes.items() if getattr(endpoint, name) != value}
    if changes:
        for name, value in changes.items():
            setattr(endpoint, name, value)
        endpoint.updated_at = clock.now()
        db.flush()
        events.append(db, actor, "webhook_endpoint.updated", endpoint, changes=changes)
    return endpoint


def rotate_secret(
    db: Session, actor: Principal, settings: Settings, *, endpoint_id: str
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the current one keeps signing beside it for a day, then stops."""
    actor.require(Permission.WEBHOOKS_MANAGE)
    endpoint = _endpoint(db, endpoint_id, lock=True)
    secret = signing.new_secret()
    now = clock.now()
    endpoint.previous_sealed_secret = endpoint.sealed_secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.sealed_secret = sealing.seal(settings, endpoint.id, secret)
    endpoint.updated_at = now
    db.flush()
    events.append(
        db, actor, "webhook_endpoint.secret_rotated", endpoint,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
    )  # fmt: skip
    return endpoint, secret


def secrets_for(
    settings: Settings,
    endpoint_id: str,
    sealed: bytes,
    previous_sealed: bytes | None,
    previous_expires_at: datetime | None,
    at: datetime,
) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous while honoured."""
    found = [sealing.open_cached(settings, endpoint_id, sealed)]
    honoured = previous_expires_at is not None and at < previous_expires_at
    if previous_sealed is not None and honoured:
        found.append(sealing.open_cached(settings, endpoint_id, previous_sealed))
    return found


def _delivery(db: Session, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    found = None
    if is_id(delivery_id, "whd"):
        found = db.get(WebhookDelivery, delivery_id)
    if found is None or found.endpoint_id != endpoint_id:
        raise NotFound(f"delivery {delivery_id} not found")
    return found


def list_deliveries(
    db: Session,
    actor: Principal,
    *,
    endpoint_id: str,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
    cursor: str | None,
    limit: int,
) -> Page[WebhookDelivery]:
    """The delivery log of an endpoint, oldest first."""
    actor.require(Permission.WEBHOOKS_MANAGE)
    endpoint = _endpoint(db, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status.value)
    if event_type is not None:
        query = query.where(WebhookDelivery.event_type == event_type)
    return paginate(db, query, WebhookDelivery.id, cursor=cursor, limit=limit)


def get_delivery(
    db: Session, actor: Principal, *, endpoint_id: str, delivery_id: str
) -> WebhookDelivery:
    """One delivery of an endpoint."""
    actor.require(Permission.WEBHOOKS_MANAGE)
    return _delivery(db, _endpoint(db, endpoint_id).id, delivery_id)


def _new_delivery(
    db: Session, endpoint: WebhookEndpoint, event: Event, *, key: str, replay_of: str | None
) -> WebhookDelivery:
    now = clock.now()
    delivery = WebhookDelivery(
        id=new_id("whd"),
        key=key,
        endpoint_id=endpoint.id,
        event_id=event.id,
        event_type=event.type,
        replay_of=replay_of,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    db.add(delivery)
    db.flush()
    jobs.enqueue(db, DELIVER_TASK, delivery.id)
    return delivery


def replay_delivery(
    db: Session, actor: Principal, *, endpoint_id: str, delivery_id: str
) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery (its own id, attempts and log)."""
    actor.require(Permission.WEBHOOKS_MANAGE)
    endpoint = _endpoint(db, endpoint_id)
    original = _delivery(db, endpoint.id, delivery_id)
    if not endpoint.active:
        raise Conflict("the endpoint is paused; activate it before replaying")
    event = db.scalar(select(Event).where(Event.id == original.event_id))
    if event is None:
        raise NotFound(f"event {original.event_id} not found")
    replay = _new_delivery(
        db, endpoint, event, key=f"{endpoint.id}:{event.id}:{new_id('whd')}", replay_of=original.id
    )
    events.append(
        db, actor, "webhook_delivery.replayed", replay,
        endpoint_id=endpoint.id, event_id=event.id, replay_of=original.id,
    )  # fmt: skip
    return replay


def subscribed(db: Session) -> Callable[[str], bool]:
    """A predicate: whether any active endpoint subscribes to an event type."""
    patterns = [
        pattern
        for types in db.scalars(
            select(WebhookEndpoint.event_types).where(WebhookEndpoint.active.is_(True))
        )
        for pattern in types
    ]
    return lambda event_type: matches(patterns, event_type)


_endpoints = cast(Table, WebhookEndpoint.__table__)
_deliveries = cast(Table, WebhookDelivery.__table__)
_ACTIVE_ENDPOINTS = (
    select(_endpoints.c.id, _endpoints.c.event_types)
    .where(_endpoints.c.active.is_(True))
    .order_by(_endpoints.c.id)
)
_DELIVERY_BY_KEY = select(_deliveries.c.id).where(_deliveries.c.key == bindparam("delivery_key"))
_NEW_DELIVERY = insert(_deliveries)


def fan_out(db: Session, event: Event) -> list[WebhookDelivery]:
    """One delivery (and its job) per active endpoint subscribed to ``event``; idempotent.

    Events about webhooks themselves are never delivered: an endpoint must not learn of other
    endpoints, and a delivery must not cause another. The deliveries returned are detached
    copies of the rows written.
    """
    if event.type.startswith(("webhook_endpoint.", "webhook_delivery.")):
        return []
    db.flush()  # rows the caller added in this transaction are seen by the reads below
    connection = db.connection()
    created = []
    for endpoint_id, event_types in connection.execute(_ACTIVE_ENDPOINTS).all():
        if not matches(list(event_types), event.type):
            continue
        key = f"{endpoint_id}:{event.id}"
        if connection.execute(_DELIVERY_BY_KEY, {"delivery_key": key}).first() is not None:
            continue
        now = clock.now()
        row = {
            "id": new_id("whd"),
            "key": key,
            "endpoint_id": endpoint_id,
            "event_id": event.id,
            "event_type": event.type,
            "replay_of": None,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "last_status_code": None,
            "last_error": None,
            "created_at": now,
            "last_attempt_at": None,
            "next_attempt_at": now,
            "delivered_at": None,
        }
        connection.execute(_NEW_DELIVERY, row)
        # In the log's order: two events' deliveries made in one millisecond have ids in no order.
        jobs.enqueue(db, DELIVER_TASK, row["id"], position=event.seq)
        created.append(WebhookDelivery(**row))
    return created


def body_of(event: Event) -> bytes:
    """The JSON body of a delivery of ``event`` (the same bytes on every attempt)."""
    return body(
        event_id=event.id,
        event_type=event.type,
        occurred_at=event.occurred_at,
        partner_id=event.partner_id,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        payload=event.payload,
    )


def body(
    *,
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    partner_id: str | None,
    subject_type: str,
    subject_id: str,
    payload: Any,
) -> bytes:
    """The JSON body of a delivery of the event with these columns."""
    occurred = clock.ensure_utc(occurred_at).isoformat().replace("+00:00", "Z")
    document = {
        "id": event_id,
        "type": event_type,
        "occurred_at": occurred,
        "partner_id": partner_id,
        "subject": {"type": subject_type, "id": subject_id},
        "data": payload,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
