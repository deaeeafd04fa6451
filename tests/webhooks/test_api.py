"""The webhooks API: endpoints (secret shown once, sealed at rest), validation, access, and
the delivery log with cursor pagination."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charter.core import events
from charter.core.auth import Role
from charter.webhooks import sealing
from charter.webhooks.models import WebhookEndpoint
from charter.worker.runner import run_until_idle
from tests.partners.factories import partner


@pytest.fixture
def admin(make):
    return make.login(Role.ADMIN)


def test_create_shows_the_secret_once_and_seals_it(client, admin, sessions, settings):
    response = client.post(
        "/api/v1/webhooks",
        json={
            "url": "https://crm.example.com/charter",
            "event_types": ["award.*", "award.revoked"],
        },
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["award.*", "award.revoked"]
    assert created["id"].startswith("whk_")
    assert created["active"] is True

    shown = client.get(f"/api/v1/webhooks/{created['id']}", headers=admin.headers).json()
    assert "secret" not in shown
    listed = client.get("/api/v1/webhooks", headers=admin.headers).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]

    with sessions() as db:
        row = db.scalar(select(WebhookEndpoint))
    assert created["secret"].encode() not in row.sealed_secret
    assert sealing.open_cached(settings, row.id, row.sealed_secret) == created["secret"]
    with pytest.raises(sealing.SealError):
        sealing.open_cached(settings, "whk_OTHER", row.sealed_secret)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not a url", "event_types": ["award.*"]}, "url"),
        ({"url": "ftp://x.example/", "event_types": ["award.*"]}, "url"),
        ({"url": "https://u:p@x.example/", "event_types": ["award.*"]}, "url"),
        ({"url": "https://x.example/", "event_types": []}, "event_types"),
        ({"url": "https://x.example/", "event_types": ["Award Revoked"]}, "event_types.0"),
        ({"url": "https://x.example/", "event_types": ["award.*", "a.b.c"]}, "event_types.1"),
        ({"event_types": ["award.*"]}, "url"),
    ],
)
def test_bad_input_is_refused_naming_the_field(client, admin, body, field):
    response = client.post("/api/v1/webhooks", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]]


PRIVATE_URLS = (
    "http://127.0.0.1:9000/h",
    "https://192.168.1.10/h",
    "http://crm.example.com/h",
    "https://[::127.0.0.1]/h",
    "https://[64:ff9b::7f00:1]/h",
    "https://[::ffff:169.254.169.254]/h",
    "https://api.localhost/h",
)


def test_private_urls_are_refused_unless_allowed(client, admin, app):
    allowing = app.state.settings
    app.state.settings = allowing.model_copy(update={"webhook_allow_private": False})
    for url in PRIVATE_URLS:
        response = client.post(
            "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=admin.headers
        )
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["field"] == "url"
    # Tests and local development allow them: the same URLs are then taken as they are.
    app.state.settings = allowing.model_copy(update={"webhook_allow_private": True})
    for url in PRIVATE_URLS:
        response = client.post(
            "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=admin.headers
        )
        assert response.status_code == 201, (url, response.text)
        assert response.json()["url"] == url


def test_update_pauses_and_changes_subscriptions(client, admin):
    created = client.post(
        "/api/v1/webhooks",
        json={"url": "https://crm.example.com/a", "event_types": ["award.*"]},
        headers=admin.headers,
    ).json()
    response = client.patch(
        f"/api/v1/webhooks/{created['id']}",
        json={"active": False, "event_types": ["tier.*", "award.revoked"], "description": "CRM"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert response.json()["event_types"] == ["award.revoked", "tier.*"]
    bad = client.patch(
        f"/api/v1/webhooks/{created['id']}", json={"url": "gopher://x"}, headers=admin.headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "url"
    missing = client.get("/api/v1/webhooks/whk_01AAAAAAAAAAAAAAAAAAAAAAAA", headers=admin.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "role", [Role.PARTNER_ADMIN, Role.PARTNER_MEMBER, Role.AUDITOR, Role.GOVERNANCE_OWNER]
)
def test_only_admins_and_program_managers_manage_webhooks(client, make, sessions, system, role):
    firm_id = None
    if role.is_partner_role:
        with sessions() as db, db.begin():
            firm_id = partner(db, system).id
    caller = make.login(role, partner_id=firm_id)
    body = {"url": "https://crm.example.com/a", "event_types": ["*"]}
    assert client.post("/api/v1/webhooks", json=body, headers=caller.headers).status_code == 403
    assert client.get("/api/v1/webhooks", headers=caller.headers).status_code == 403
    manager = make.login(Role.PROGRAM_MANAGER)
    assert client.post("/api/v1/webhooks", json=body, headers=manager.headers).status_code == 201


def test_the_delivery_log_pages_with_a_cursor(
    client, admin, sessions, system, receiver, frozen_clock
):
    endpoint = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["test.*"]},
        headers=admin.headers,
    ).json()

    class Thing:
        id = "thing_1"

    with sessions() as db, db.begin():
        for n in range(7):
            events.append(db, system, "test.ping" if n % 2 else "test.pong", Thing(), n=n)
    run_until_idle(sessions)

    url = f"/api/v1/webhooks/{endpoint['id']}/deliveries"
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get(url, params=params, headers=admin.headers).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7
    assert len({item["id"] for item in seen}) == 7
    assert [item["id"] for item in seen] == sorted(item["id"] for item in seen)
    assert {item["status"] for item in seen} == {"delivered"}
    pongs = client.get(url, params={"event_type": "test.pong"}, headers=admin.headers).json()
    assert len(pongs["items"]) == 4
    failed = client.get(url, params={"status": "failed"}, headers=admin.headers).json()
    assert failed["items"] == []
    bad = client.get(url, params={"cursor": "!!"}, headers=admin.headers)
    assert bad.status_code == 422
    other = client.get(
        f"/api/v1/webhooks/{endpoint['id']}/deliveries/whd_01AAAAAAAAAAAAAAAAAAAAAAAA",
        headers=admin.headers,
    )
    assert other.status_code == 404
