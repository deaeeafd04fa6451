"""Webhook endpoints and their delivery log over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request

from charter.config import Settings
from charter.core.pagination import DEFAULT_LIMIT
from charter.core.schemas import Page
from charter.deps import CurrentPrincipal, Cursor, DbSession, Limit, api_router
from charter.webhooks import service
from charter.webhooks.enums import DeliveryStatus
from charter.webhooks.models import WebhookDelivery, WebhookEndpoint
from charter.webhooks.schemas import (
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    SecretRotated,
)

router = api_router(tags=["webhooks"])

EndpointId = Annotated[
    str, Path(min_length=1, max_length=40, description="A webhook endpoint id (whk_…)")
]
DeliveryId = Annotated[str, Path(min_length=1, max_length=40, description="A delivery id (whd_…)")]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("/webhooks", status_code=201, response_model=EndpointCreated)
def create_endpoint(
    body: EndpointCreate, request: Request, db: DbSession, actor: CurrentPrincipal
) -> EndpointCreated:
    """Register an endpoint. The answer holds its signing secret: the only time it is shown."""
    endpoint, secret = service.create_endpoint(db, actor, _settings(request), data=body)
    return EndpointCreated(**EndpointOut.model_validate(endpoint).model_dump(), secret=secret)


@router.get("/webhooks", response_model=Page[EndpointOut])
def list_endpoints(
    db: DbSession, actor: CurrentPrincipal, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[EndpointOut]:
    """Webhook endpoints, oldest first."""
    page = service.list_endpoints(db, actor, cursor=cursor, limit=limit)
    items = [EndpointOut.model_validate(endpoint) for endpoint in page.items]
    return Page[EndpointOut](items=items, next_cursor=page.next_cursor)


@router.get("/webhooks/{endpoint_id}", response_model=EndpointOut)
def get_endpoint(
    endpoint_id: EndpointId, db: DbSession, actor: CurrentPrincipal
) -> WebhookEndpoint:
    """One endpoint."""
    return service.get_endpoint(db, actor, endpoint_id=endpoint_id)


@router.patch("/webhooks/{endpoint_id}", response_model=EndpointOut)
def update_endpoint(
    endpoint_id: EndpointId,
    body: EndpointUpdate,
    request: Request,
    db: DbSession,
    actor: CurrentPrincipal,
) -> WebhookEndpoint:
    """Change the URL, the event types or the description, or pause it (``active: false``)."""
    return service.update_endpoint(
        db, actor, _settings(request), endpoint_id=endpoint_id, data=body
    )


@router.post("/webhooks/{endpoint_id}/rotate-secret", response_model=SecretRotated)
def rotate_secret(
    endpoint_id: EndpointId, request: Request, db: DbSession, actor: CurrentPrincipal
) -> SecretRotated:
    """A new signing secret; deliveries carry signatures with both for the next 24 hours."""
    endpoint, secret = service.rotate_secret(db, actor, _settings(request), endpoint_id=endpoint_id)
    assert endpoint.previous_secret_expires_at is not None
    return SecretRotated(
        id=endpoint.id,
        secret=secret,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
    )


@router.get("/webhooks/{endpoint_id}/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    endpoint_id: EndpointId,
    db: DbSession,
    actor: CurrentPrincipal,
    status: DeliveryStatus | None = None,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DeliveryOut]:
    """The delivery log: status, attempts, last response code and error, and times."""
    page = service.list_deliveries(
        db,
        actor,
        endpoint_id=endpoint_id,
        status=status,
        event_type=event_type,
        cursor=cursor,
        limit=limit,
    )
    items = [DeliveryOut.model_validate(delivery) for delivery in page.items]
    return Page[DeliveryOut](items=items, next_cursor=page.next_cursor)


@router.get("/webhooks/{endpoint_id}/deliveries/{delivery_id}", response_model=DeliveryOut)
def get_delivery(
    endpoint_id: EndpointId, delivery_id: DeliveryId, db: DbSession, actor: CurrentPrincipal
) -> WebhookDelivery:
    """One delivery."""
    return service.get_delivery(db, actor, endpoint_id=endpoint_id, delivery_id=delivery_id)


@router.post(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryOut,
)
def replay_delivery(
    endpoint_id: EndpointId, delivery_id: DeliveryId, db: DbSession, actor: CurrentPrincipal
) -> WebhookDelivery:
    """Send the delivery's event again as a new delivery (queued for the worker)."""
    return service.replay_delivery(db, actor, endpoint_id=endpoint_id, delivery_id=delivery_id)
