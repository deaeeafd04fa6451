"""Worker handlers for webhooks: registered with :mod:`charter.worker.registry` on import.

``webhooks.fanout`` turns each event into one delivery per subscribed endpoint (events no
endpoint subscribes to are filtered out before any job is made); ``webhooks.deliver`` sends
one delivery. A delivery is retried with exponential backoff for up to three days.

Delivery is at least once: if a worker dies after the endpoint received a request but before
the outcome was recorded, the delivery is sent again once its lease runs out, with the same
id in ``Charter-Delivery`` and ``webhook-id``, which is how a receiver recognises the
duplicate. Once recorded as delivered, a delivery is never sent again (unless someone replays
it, as a new delivery).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.orm import Session

from charter import __version__
from charter.core import clock
from charter.core.auth import Principal
from charter.core.models import Event
from charter.webhooks import service, signing, transport
from charter.webhooks.enums import DeliveryStatus
from charter.webhooks.models import WebhookDelivery, WebhookEndpoint
from charter.worker.registry import RetryLater, RetryPolicy, TaskContext, on_event, task

log = logging.getLogger("charter.webhooks")

DELIVERY_RETRY = RetryPolicy(
    max_attempts=None,
    base=timedelta(seconds=30),
    cap=timedelta(hours=6),
    give_up_after=timedelta(days=3),
)
USER_AGENT = f"Charter-Webhooks/{__version__}"
_clients = threading.local()


def _client() -> httpx.Client:
    # One connection pool per worker thread, kept between deliveries.
    client = getattr(_clients, "client", None)
    if client is None:
        client = httpx.Client(follow_redirects=False, trust_env=False)
        _clients.client = client
    return client


@on_event("webhooks.fanout", "*", prefilter=service.subscribed)
def fan_out(db: Session, actor: Principal, event: Event) -> None:
    """Queue one delivery of ``event`` per subscribed endpoint."""
    service.fan_out(db, event)


def _will_retry(db: Session, delivery_id: str, next_at: datetime) -> None:
    db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(next_attempt_at=next_at)
    )


def _give_up(db: Session, delivery_id: str, error: str) -> None:
    db.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.FAILED.value, next_attempt_at=None, last_error=error)
    )
    log.error("webhook delivery %s failed for good: %s", delivery_id, error)


_deliveries = cast(Table, WebhookDelivery.__table__)
_endpoints = cast(Table, WebhookEndpoint.__table__)
_events = cast(Table, Event.__table__)
# Everything a delivery needs, read with one statement built once.
_TO_SEND_ALL = select(
    _deliveries.c.id,
    _deliveries.c.status,
    _endpoints.c.id.label("endpoint_id"),
    _endpoints.c.url,
    _endpoints.c.active,
    _endpoints.c.sealed_secret,
    _endpoints.c.previous_sealed_secret,
    _endpoints.c.previous_secret_expires_at,
    _events.c.id.label("event_id"),
    _events.c.type,
    _events.c.occurred_at,
    _events.c.partner_id,
    _events.c.subject_type,
    _events.c.subject_id,
    _events.c.payload,
).select_from(
    _deliveries.outerjoin(_endpoints, _endpoints.c.id == _deliveries.c.endpoint_id).outerjoin(
        _events, _events.c.id == _deliveries.c.event_id
    )
)
_TO_SEND = _TO_SEND_ALL.where(_deliveries.c.id == bindparam("delivery"))
_BATCH_TO_SEND = _TO_SEND_ALL.where(_deliveries.c.id.in_(bindparam("batch", expanding=True)))


def _prepare(db: Session, delivery_ids: list[str]) -> dict[str, Any]:
    """What each delivery of a claimed batch needs, read with one query."""
    rows = db.connection().execute(_BATCH_TO_SEND, {"batch": delivery_ids}).all()
    return {row.id: row for row in rows}


_PENDING = and_(
    _deliveries.c.id == bindparam("delivery"),
    _deliveries.c.status == DeliveryStatus.PENDING.value,
)
_ATTEMPTED = (
    update(_deliveries)
    .where(_PENDING)
    .values(
        attempts=_deliveries.c.attempts + 1,
        last_attempt_at=bindparam("at"),
        last_status_code=bindparam("code"),
        last_error=bindparam("error"),
    )
)
_DELIVERED = (
    update(_deliveries)
    .where(_PENDING)
    .values(
        attempts=_deliveries.c.attempts + 1,
        last_attempt_at=bindparam("at"),
        last_status_code=bindparam("code"),
        last_error=None,
        status=DeliveryStatus.DELIVERED.value,
        delivered_at=bindparam("at"),
        next_attempt_at=None,
    )
)
_ORPHANED = (
    update(_deliveries)
    .where(_PENDING)
    .values(
        status=DeliveryStatus.FAILED.value,
        last_error="the endpoint or the event no longer exists",
    )
)


def _record(context: TaskContext, delivery_id: str, *, code: int | None, error: str) -> None:
    with context.sessions() as db, db.begin():
        db.connection().execute(
            _ATTEMPTED, {"delivery": delivery_id, "at": clock.now(), "code": code, "error": error}
        )


def _record_delivered(context: TaskContext, delivery_id: str, code: int) -> None:
    with context.sessions() as db, db.begin():
        context.complete(db)
        db.connection().execute(
            _DELIVERED, {"delivery": delivery_id, "at": clock.now(), "code": code}
        )


@task(
    service.DELIVER_TASK,
    retry=DELIVERY_RETRY,
    on_give_up=_give_up,
    on_retry=_will_retry,
    prepare=_prepare,
)
def deliver(context: TaskContext, delivery_id: str) -> None:
    """POST one delivery, signed; 2xx is success, anything else is retried."""
    settings = context.settings
    row = context.prepared
    if row is None:
        with context.sessions() as db, db.begin():
            row = db.connection().execute(_TO_SEND, {"delivery": delivery_id}).first()
    if row is None or row.status != DeliveryStatus.PENDING.value:
        return  # delivered already (a worker died after recording it), or given up
    if row.endpoint_id is None or row.event_id is None:
        with context.sessions() as db, db.begin():
            db.connection().execute(_ORPHANED, {"delivery": delivery_id})
        return
    if not row.active:
        raise RetryLater("the endpoint is paused")
    url = row.url
    secrets_in_use = service.secrets_for(
        settings,
        row.endpoint_id,
        row.sealed_secret,
        row.previous_sealed_secret,
        row.previous_secret_expires_at,
        clock.now(),
    )
    body = service.body(
        event_id=row.event_id,
        event_type=row.type,
        occurred_at=row.occurred_at,
        partner_id=row.partner_id,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        payload=row.payload,
    )
    event_type = row.type
    # Wall-clock time, not the injectable clock: receivers compare it with their own clock.
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Charter-Event": event_type,
        "Charter-Delivery": delivery_id,
        # The delivery id is the Standard Webhooks message id: the same on every attempt.
        **signing.headers(secrets_in_use, delivery_id, timestamp, body),
    }
    try:
        response = transport.post(
            _client(),
            url,
            body=body,
            headers=headers,
            allow_private=settings.webhook_allow_private,
            timeout=settings.webhook_timeout_seconds,
        )
    except transport.Refused as error:
        _record(context, delivery_id, code=None, error=f"refused: {error}")
        raise RetryLater(f"refused: {error}") from error
    except httpx.HTTPError as error:
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        _record(context, delivery_id, code=None, error=message)
        raise RetryLater(message) from error
    code = response.status_code
    if 200 <= code < 300:
        _record_delivered(context, delivery_id, code)
        log.info("webhook delivery %s (%s) delivered: HTTP %d", delivery_id, event_type, code)
        return
    reason = f"HTTP {code}" + (" (redirects are not followed)" if response.is_redirect else "")
    _record(context, delivery_id, code=code, error=reason)
    raise RetryLater(reason)
