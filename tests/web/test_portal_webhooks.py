"""Webhook pages: managers register an endpoint (its secret shown once), pause and resume it,
read its delivery log and replay a delivery; mistakes come back on the form, writing nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from charter.core.auth import Role
from charter.core.models import Event
from charter.webhooks import service as webhooks
from charter.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.web.helpers import csrf_from, sign_in, web_user

SECRET = re.compile(r'id="new-secret"[^>]*value="([^"]+)"')


def _count(sessions, model) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(model))


def _register(client, token, **fields):
    data = {"csrf": token, "url": "https://crm.example.com/hooks", "event_types": "user.*"}
    return client.post("/webhooks", data={**data, **fields})


def test_a_manager_registers_an_endpoint_and_sees_the_secret_once(client, sessions):
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    token = csrf_from(client.get("/webhooks").text)

    for bad, field in (({"url": "http://10.0.0.1/x"}, "url"), ({"event_types": ""}, "event_types")):
        refused = _register(client, token, **bad)
        assert refused.status_code == 422, bad
        assert f'data-field="{field}' in refused.text, bad
    assert _count(sessions, WebhookEndpoint) == 0
    assert client.post("/webhooks", data={"url": "https://a.example"}).status_code == 403
    assert _count(sessions, WebhookEndpoint) == 0

    created = _register(client, token, description="CRM sync")
    assert created.status_code == 201
    secret = SECRET.search(created.text).group(1)
    listed = client.get("/webhooks").text
    assert "https://crm.example.com/hooks" in listed
    assert secret not in listed


def test_the_delivery_log_shows_each_delivery_and_replays_it(client, sessions):
    manager = web_user(sessions, Role.ADMIN)
    sign_in(client, manager.email, manager.password)
    token = csrf_from(client.get("/webhooks").text)
    _register(client, token)
    with sessions() as db, db.begin():
        endpoint_id = db.scalar(select(WebhookEndpoint.id))
        event = db.scalars(select(Event).where(Event.type == "user.created")).first()
        webhooks.fan_out(db, event)
        delivery = db.scalars(select(WebhookDelivery)).one()
        delivery.attempts, delivery.last_status_code, delivery.status = 3, 502, "failed"
        delivery_id = delivery.id
    page = client.get(f"/webhooks/{endpoint_id}")
    assert page.status_code == 200
    row = page.text.split(f'data-delivery="{delivery_id}"')[1].split("</tr>")[0]
    assert "failed" in row
    assert "502" in row
    assert ">3<" in row
    assert client.get(f"/webhooks/{endpoint_id}?status=failed").text.count("data-delivery=") == 1
    assert client.get(f"/webhooks/{endpoint_id}?status=lost").status_code == 422

    replayed = client.post(
        f"/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
        data={"csrf": token},
        follow_redirects=False,
    )
    assert replayed.status_code == 303
    with sessions() as db:
        replays = db.scalars(
            select(WebhookDelivery).where(WebhookDelivery.replay_of == delivery_id)
        )
        assert len(list(replays)) == 1

    client.post(f"/webhooks/{endpoint_id}/active", data={"csrf": token, "active": "no"})
    assert "paused" in client.get(f"/webhooks/{endpoint_id}").text
    paused = client.post(
        f"/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay", data={"csrf": token}
    )
    assert paused.status_code == 409
    assert "paused" in paused.text
    assert _count(sessions, WebhookDelivery) == 2
    client.post(f"/webhooks/{endpoint_id}/active", data={"csrf": token, "active": "yes"})
    with sessions() as db:
        assert db.get(WebhookEndpoint, endpoint_id).active


def test_roles_without_webhooks_manage_are_refused(client, sessions):
    auditor = web_user(sessions, Role.AUDITOR)
    sign_in(client, auditor.email, auditor.password)
    assert client.get("/webhooks").status_code == 403
    token = csrf_from(client.get("/account").text)
    assert _register(client, token).status_code == 403
    assert _count(sessions, WebhookEndpoint) == 0
