"""Webhook pages: managers register an endpoint (its secret shown once), pause and resume it,
read its delivery log and replay a delivery; mistakes come back on the form, writing nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from charter.core import clock
from charter.core.auth import Role
from charter.core.models import Event
from charter.webhooks import service as webhooks
from charter.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import build_world

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


def _endpoint_id(sessions) -> str:
    with sessions() as db:
        return db.scalar(select(WebhookEndpoint.id))


def test_a_manager_edits_an_endpoint_and_a_refused_edit_changes_nothing(client, sessions):
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    token = csrf_from(client.get("/webhooks").text)
    _register(client, token, description="CRM sync")
    endpoint_id = _endpoint_id(sessions)
    path = f"/webhooks/{endpoint_id}"
    page = client.get(path).text
    assert 'id="edit-endpoint"' in page
    assert 'value="user.*"' in page

    edit = {"csrf": token, "url": "https://crm.example.com/v2", "event_types": "award.*"}
    for bad, field in (
        ({"url": "http://10.0.0.1/x"}, "url"),
        ({"event_types": ""}, "event_types"),
        ({"event_types": "award.* Not An Event"}, "event_types"),
    ):
        refused = client.post(path, data={**edit, **bad})
        assert refused.status_code == 422, bad
        assert f'id="{field}-error"' in refused.text, bad
        typed = {**edit, **bad}["url"]
        assert f'value="{typed}"' in refused.text, bad
    with sessions() as db:
        endpoint = db.get(WebhookEndpoint, endpoint_id)
        assert (endpoint.url, endpoint.event_types) == ("https://crm.example.com/hooks", ["user.*"])

    saved = client.post(
        path,
        data={
            **edit,
            "event_types": "award.*, firm.tier_changed",
            "description": "<script>x</script>",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with sessions() as db:
        endpoint = db.get(WebhookEndpoint, endpoint_id)
        assert endpoint.url == "https://crm.example.com/v2"
        assert endpoint.event_types == ["award.*", "firm.tier_changed"]
        assert endpoint.description == "<script>x</script>"
        changed = db.scalars(select(Event.type).where(Event.subject_id == endpoint_id))
        assert "webhook_endpoint.updated" in list(changed)
    shown = client.get(path).text
    assert "&lt;script&gt;x&lt;/script&gt;" in shown
    assert "<script>x</script>" not in shown


def test_a_manager_rotates_the_secret_and_sees_the_new_one_once(client, sessions):
    manager = web_user(sessions, Role.ADMIN)
    sign_in(client, manager.email, manager.password)
    token = csrf_from(client.get("/webhooks").text)
    first = SECRET.search(_register(client, token).text).group(1)
    endpoint_id = _endpoint_id(sessions)
    path = f"/webhooks/{endpoint_id}"
    assert f'action="/webhooks/{endpoint_id}/rotate-secret"' in client.get(path).text

    rotated = client.post(f"{path}/rotate-secret", data={"csrf": token})
    assert rotated.status_code == 200
    secret = SECRET.search(rotated.text).group(1)
    assert secret != first
    assert secret not in client.get(path).text
    with sessions() as db:
        endpoint = db.get(WebhookEndpoint, endpoint_id)
        assert endpoint.previous_secret_expires_at is not None
        signing = webhooks.secrets_for(
            client.app.state.settings,
            endpoint.id,
            endpoint.sealed_secret,
            endpoint.previous_sealed_secret,
            clock.ensure_utc(endpoint.previous_secret_expires_at),
            clock.now(),
        )
        assert signing == [secret, first]


def test_readers_and_partner_users_cannot_edit_or_rotate(client, sessions):
    harbor_id = build_world(sessions).harbor_id
    manager = web_user(sessions, Role.ADMIN)
    sign_in(client, manager.email, manager.password)
    _register(client, csrf_from(client.get("/webhooks").text))
    endpoint_id = _endpoint_id(sessions)
    client.post("/logout", data={"csrf": csrf_from(client.get("/account").text)})
    for role, refused in ((Role.AUDITOR, 403), (Role.PARTNER_ADMIN, 404)):
        user = web_user(sessions, role, partner_id=harbor_id if role.is_partner_role else None)
        sign_in(client, user.email, user.password)
        token = csrf_from(client.get("/account").text)
        edit = {"csrf": token, "url": "https://evil.example.com", "event_types": "*"}
        assert client.post(f"/webhooks/{endpoint_id}", data=edit).status_code == refused
        rotate = client.post(f"/webhooks/{endpoint_id}/rotate-secret", data={"csrf": token})
        assert rotate.status_code == refused
        client.post("/logout", data={"csrf": token})
    with sessions() as db:
        assert db.get(WebhookEndpoint, endpoint_id).url == "https://crm.example.com/hooks"
        assert db.get(WebhookEndpoint, endpoint_id).previous_secret_expires_at is None
