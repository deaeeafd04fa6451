"""Deliveries to a real receiver: signed as the README says, filtered by subscription,
retried while the receiver is down, given up after three days, replayable."""

from __future__ import annotations

import re
import secrets
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from standardwebhooks import Webhook, WebhookVerificationError

from charter.core import events
from charter.core.auth import Role
from charter.credentials import service as awards
from charter.webhooks import sealing, service, signing, transport
from charter.webhooks.enums import DeliveryStatus
from charter.webhooks.models import WebhookDelivery, WebhookEndpoint
from charter.worker import execution
from charter.worker.runner import run_until_idle
from charter.worker.worker import Worker
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.webhooks.receiver import standard_secret, verify_charter_signature


def _endpoint(client, make, url, event_types):
    admin = make.login(Role.ADMIN)
    response = client.post(
        "/api/v1/webhooks",
        json={"url": url, "event_types": event_types, "description": "CRM"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return response.json(), admin


def _award(sessions, system):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        holder = person(db, system, partner_id=firm.id)
        cert = certification(db, system)
        return award(db, system, person_id=holder.id, certification_id=cert.id)


def _deliveries(sessions):
    with sessions() as db:
        return db.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def test_deliveries_are_signed_as_the_readme_says(
    client, make, sessions, system, receiver, frozen_clock
):
    endpoint, _ = _endpoint(client, make, receiver.url, ["award.*"])
    held = _award(sessions, system)
    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=held.id, reason="fraud")

    run_until_idle(sessions)

    assert [r.json["type"] for r in receiver.requests] == ["award.issued", "award.revoked"]
    revoked = receiver.requests[1]
    assert verify_charter_signature(
        revoked.headers["charter-signature"], revoked.body, endpoint["secret"]
    )
    assert not verify_charter_signature(
        revoked.headers["charter-signature"], revoked.body + b" ", endpoint["secret"]
    )
    assert not verify_charter_signature(
        revoked.headers["charter-signature"], revoked.body, signing.new_secret()
    )
    assert revoked.headers["charter-event"] == "award.revoked"
    assert revoked.headers["content-type"] == "application/json"
    document = revoked.json
    assert set(document) == {"id", "type", "occurred_at", "partner_id", "subject", "data"}
    assert document["subject"] == {"type": "award", "id": held.id}
    assert document["partner_id"] == held.partner_id
    assert document["data"]["reason"] == "fraud"
    assert document["occurred_at"].endswith("Z")
    logged = _deliveries(sessions)
    assert {d.id for d in logged} == set(receiver.deliveries())
    assert all(d.status == DeliveryStatus.DELIVERED and d.last_status_code == 200 for d in logged)
    assert all(d.attempts == 1 for d in logged)


def test_deliveries_verify_with_the_standard_webhooks_library(
    client, make, sessions, system, receiver, frozen_clock
):
    endpoint, _ = _endpoint(client, make, receiver.url, ["award.*"])
    secret = endpoint["secret"]
    receiver.secret = secret  # answers 401 unless both signatures check out
    held = _award(sessions, system)
    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=held.id, reason="fraud")

    run_until_idle(sessions)

    assert [r.verified for r in receiver.requests] == [True, True]
    assert all(d.status == DeliveryStatus.DELIVERED for d in _deliveries(sessions))
    revoked = receiver.requests[1]
    webhook = Webhook(secret)  # the secret exactly as shown, no translation
    assert webhook.verify(revoked.body, revoked.headers) == revoked.json
    assert revoked.headers["webhook-id"] == revoked.delivery
    charter_timestamp = revoked.headers["charter-signature"].split(",")[0].removeprefix("t=")
    assert revoked.headers["webhook-timestamp"] == charter_timestamp
    with pytest.raises(WebhookVerificationError):
        webhook.verify(revoked.body + b" ", revoked.headers)
    with pytest.raises(WebhookVerificationError):
        webhook.verify(
            revoked.body, {**revoked.headers, "webhook-id": receiver.requests[0].delivery}
        )
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(revoked.body, revoked.headers)


def test_secrets_issued_before_standard_webhooks_verify_by_the_stated_rule(
    client, make, sessions, system, receiver, frozen_clock, settings
):
    endpoint, _ = _endpoint(client, make, receiver.url, ["award.issued"])
    # A secret as they were issued before: URL-safe base64 of 32 bytes, unpadded, here with
    # the two characters that differ from the standard alphabet.
    old = "whsec_" + secrets.token_urlsafe(32)
    while "-" not in old[6:] or "_" not in old[6:]:
        old = "whsec_" + secrets.token_urlsafe(32)
    with sessions() as db, db.begin():
        db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint["id"])
            .values(sealed_secret=sealing.seal(settings, endpoint["id"], old))
        )
    receiver.secret = old
    _award(sessions, system)
    run_until_idle(sessions)

    [request] = receiver.requests
    assert request.verified is True
    [delivered] = _deliveries(sessions)
    assert delivered.status == DeliveryStatus.DELIVERED
    translated = standard_secret(old)
    assert translated == signing.standard_secret(old)
    assert Webhook(translated).verify(request.body, request.headers) == request.json
    assert verify_charter_signature(request.headers["charter-signature"], request.body, old)
    with pytest.raises((WebhookVerificationError, ValueError)):
        Webhook(old).verify(request.body, request.headers)  # why the rule is needed


def _readme_snippets() -> dict:
    """The README's Python blocks about webhook signatures, run: the functions they define."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Webhooks.**") :]
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", section, flags=re.S | re.M)
    defined: dict = {}
    for _, code in blocks:
        exec(textwrap.dedent(code), defined)  # the README's own example code
    return defined


def test_the_readme_shows_both_verifications_and_they_work(
    client, make, sessions, system, receiver, frozen_clock
):
    readme = _readme_snippets()
    endpoint, _ = _endpoint(client, make, receiver.url, ["award.issued"])
    _award(sessions, system)
    run_until_idle(sessions)

    [request] = receiver.requests
    secret = endpoint["secret"]
    assert readme["verify_standard_webhook"](request.body, request.headers, secret)
    assert readme["verify_charter_signature"](
        request.headers["charter-signature"], request.body, secret
    )
    assert not readme["verify_standard_webhook"](request.body + b" ", request.headers, secret)
    assert not readme["verify_charter_signature"](
        request.headers["charter-signature"], request.body, signing.new_secret()
    )
    old = "whsec_" + secrets.token_urlsafe(32)
    assert readme["standard_secret"](old) == signing.standard_secret(old)
    assert readme["standard_secret"](secret) == secret


def test_only_subscribed_event_types_are_delivered(
    client, make, sessions, system, receiver, frozen_clock
):
    _endpoint(client, make, receiver.url, ["award.revoked"])
    other = _endpoint(client, make, receiver.url + "/all", ["*"])[0]
    held = _award(sessions, system)
    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=held.id, reason="fraud")
    run_until_idle(sessions)

    exact = [r.json["type"] for r in receiver.requests if r.path == "/hooks"]
    everything = [r.json["type"] for r in receiver.requests if r.path == "/hooks/all"]
    assert exact == ["award.revoked"]
    assert "award.issued" in everything
    assert "partner.created" in everything
    # Events about webhooks themselves never go out.
    assert not any(kind.startswith("webhook_") for kind in everything)
    assert other["event_types"] == ["*"]


def test_deliveries_survive_the_receiver_being_down(
    client, make, sessions, system, receiver, frozen_clock
):
    endpoint, admin = _endpoint(client, make, receiver.url, ["award.issued"])
    receiver.status = 503
    receiver.secret = endpoint["secret"]
    _award(sessions, system)
    run_until_idle(sessions)
    [pending] = _deliveries(sessions)
    assert pending.status == DeliveryStatus.PENDING
    assert pending.last_status_code == 503
    assert pending.last_error == "HTTP 503"
    assert pending.next_attempt_at > frozen_clock.now()

    receiver.stop()  # now not even listening
    for _ in range(3):
        frozen_clock.advance(timedelta(minutes=10))
        run_until_idle(sessions)
    [still] = _deliveries(sessions)
    assert still.status == DeliveryStatus.PENDING
    assert still.attempts == 4
    assert still.last_status_code is None
    assert "Connect" in (still.last_error or "")

    receiver.status = 200
    receiver.start()
    frozen_clock.advance(timedelta(hours=1))
    run_until_idle(sessions)
    [done] = _deliveries(sessions)
    assert done.status == DeliveryStatus.DELIVERED
    assert done.attempts == 5
    assert receiver.deliveries() == [done.id, done.id]  # the 503 answer, then the success
    # One message, so one Standard Webhooks id on every attempt, each attempt signed afresh.
    assert [r.headers["webhook-id"] for r in receiver.requests] == [done.id, done.id]
    assert [r.verified for r in receiver.requests] == [True, True]

    log = client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=admin.headers)
    [shown] = log.json()["items"]
    assert shown["status"] == "delivered"
    assert shown["attempts"] == 5
    assert shown["last_status_code"] == 200
    assert shown["delivered_at"] is not None


def test_a_delivery_is_given_up_after_three_days_and_can_be_replayed(
    client, make, sessions, system, receiver, frozen_clock
):
    endpoint, admin = _endpoint(client, make, receiver.url, ["award.issued"])
    receiver.status = 500
    _award(sessions, system)
    start = frozen_clock.now()
    while frozen_clock.now() - start < timedelta(days=4):
        run_until_idle(sessions)
        frozen_clock.advance(timedelta(hours=1))
    [failed] = _deliveries(sessions)
    assert failed.status == DeliveryStatus.FAILED
    assert failed.last_error == "HTTP 500"
    assert 10 <= failed.attempts <= 30
    assert failed.last_attempt_at - failed.created_at <= timedelta(days=3)
    assert failed.next_attempt_at is None

    receiver.status = 200
    replay = client.post(
        f"/api/v1/webhooks/{endpoint['id']}/deliveries/{failed.id}/replay", headers=admin.headers
    )
    assert replay.status_code == 202, replay.text
    assert replay.json()["replay_of"] == failed.id
    assert replay.json()["status"] == "pending"
    run_until_idle(sessions)
    assert receiver.deliveries()[-1] == replay.json()["id"]
    assert receiver.requests[-1].json["id"] == receiver.requests[0].json["id"]  # the same event
    shown = client.get(
        f"/api/v1/webhooks/{endpoint['id']}/deliveries/{replay.json()['id']}",
        headers=admin.headers,
    ).json()
    assert shown["status"] == "delivered"


def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(
    client, make, sessions, system, receiver, frozen_clock
):
    endpoint, admin = _endpoint(client, make, receiver.url, ["test.*"])
    rotated = client.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret", headers=admin.headers)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]

    class Thing:
        id = "thing_1"

    with sessions() as db, db.begin():
        events.append(db, system, "test.ping", Thing())
    run_until_idle(sessions)
    request = receiver.requests[-1]
    header = request.headers["charter-signature"]
    assert header.count("v1=") == 2
    assert verify_charter_signature(header, request.body, new_secret)
    assert verify_charter_signature(header, request.body, endpoint["secret"])
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new_secret).verify(request.body, request.headers)
    Webhook(endpoint["secret"]).verify(request.body, request.headers)

    frozen_clock.advance(timedelta(hours=25))
    with sessions() as db, db.begin():
        events.append(db, system, "test.ping", Thing())
    run_until_idle(sessions)
    request = receiver.requests[-1]
    assert request.headers["charter-signature"].count("v1=") == 1
    assert verify_charter_signature(request.headers["charter-signature"], request.body, new_secret)
    assert not verify_charter_signature(
        request.headers["charter-signature"], request.body, endpoint["secret"]
    )
    Webhook(new_secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(request.body, request.headers)


def test_private_addresses_are_refused_at_delivery_time(
    client, make, sessions, system, receiver, frozen_clock, settings
):
    _endpoint(client, make, receiver.url, ["award.issued"])
    _award(sessions, system)
    strict = settings.model_copy(update={"webhook_allow_private": False})
    run_until_idle(sessions, strict)
    [refused] = _deliveries(sessions)
    assert refused.status == DeliveryStatus.PENDING
    assert "not a public address" in (refused.last_error or "")
    assert receiver.requests == []


def test_redirects_are_not_followed(client, make, sessions, system, receiver, frozen_clock):
    receiver.status = 307
    _endpoint(client, make, receiver.url, ["award.issued"])
    _award(sessions, system)
    run_until_idle(sessions)
    [delivery] = _deliveries(sessions)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == "HTTP 307 (redirects are not followed)"
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://crm.example.com/hooks", True),
        ("https://93.184.216.34/hooks", True),
        ("http://crm.example.com/hooks", False),
        ("https://localhost/hooks", False),
        ("https://127.0.0.1/hooks", False),
        ("https://10.1.2.3/hooks", False),
        ("https://[::1]/hooks", False),
        ("https://169.254.169.254/latest", False),
        ("https://user:pw@crm.example.com/", False),
        ("ftp://crm.example.com/", False),
        ("not a url", False),
    ],
)
def test_url_rules_without_private_addresses(url, allowed):
    from charter.core.errors import Invalid

    if allowed:
        assert transport.validate_url(url, allow_private=False) == url
    else:
        with pytest.raises(Invalid) as raised:
            transport.validate_url(url, allow_private=False)
        assert raised.value.errors[0].field == "url"


def test_resolution_refuses_non_public_addresses_and_pins_the_checked_one(monkeypatch):
    def fake(host, port, type=0):
        table = {"inside.example": "10.0.0.7", "outside.example": "93.184.216.34"}
        return [(2, 1, 6, "", (table[host], port))]

    monkeypatch.setattr(transport.socket, "getaddrinfo", fake)
    monkeypatch.setattr(transport, "_resolved", {})
    with pytest.raises(transport.Refused, match="not a public address"):
        transport.resolve("https://inside.example/h", allow_private=False)
    target = transport.resolve("https://outside.example:8443/h?x=1", allow_private=False)
    assert target.url == "https://93.184.216.34:8443/h?x=1"
    assert target.host_header == "outside.example:8443"
    assert target.sni_hostname == "outside.example"
    assert transport.pin("http://[2001:db8::1]/x", "2606:4700::1").url == "http://[2606:4700::1]/x"


def test_addresses_are_kept_briefly_and_checked_on_every_delivery(monkeypatch):
    lookups = []

    def fake(host, port, type=0):
        lookups.append(host)
        table = {"inside.example": "10.0.0.7", "outside.example": "93.184.216.34"}
        return [(2, 1, 6, "", (table[host], port))]

    monkeypatch.setattr(transport.socket, "getaddrinfo", fake)
    monkeypatch.setattr(transport, "_resolved", {})
    for _ in range(3):
        with pytest.raises(transport.Refused, match="not a public address"):
            transport.resolve("https://inside.example/h", allow_private=False)
        assert transport.resolve("https://outside.example/h", allow_private=False).url == (
            "https://93.184.216.34/h"
        )
    assert lookups == ["inside.example", "outside.example"]
    # Once the addresses are older than the time to live, the host is looked up again.
    for key, (at, addresses) in list(transport._resolved.items()):
        transport._resolved[key] = (at - transport.RESOLVE_TTL_SECONDS - 1, addresses)
    transport.resolve("https://outside.example/h", allow_private=False)
    assert lookups == ["inside.example", "outside.example", "outside.example"]


def test_body_is_stable(sessions, system, frozen_clock):
    class Thing:
        id = "thing_2"

    with sessions() as db, db.begin():
        event = events.append(db, system, "test.ping", Thing(), partner_id=None, n=1)
    assert service.body_of(event) == service.body_of(event)


@pytest.mark.parametrize("fresh", [True, False])
def test_what_a_claim_read_for_a_delivery_is_used_only_while_fresh(
    client, make, sessions, system, receiver, frozen_clock, monkeypatch, fresh
):
    endpoint, admin = _endpoint(client, make, receiver.url, ["award.*"])
    _award(sessions, system)
    worker = Worker(sessions, batch_size=50)
    worker.dispatch()
    for job in worker.claim():  # the fan-out: queues the delivery
        worker.run_job(job)
    [job] = [job for job in worker.claim() if job.name == service.DELIVER_TASK]
    response = client.patch(
        f"/api/v1/webhooks/{endpoint['id']}", json={"active": False}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    if not fresh:
        monkeypatch.setattr(execution, "PREPARED_FRESH_SECONDS", 0.0)
    # Read at claim time, a moment before the pause, it is still sent; read later, it waits.
    assert worker.run_job(job) is fresh
    worker.close()
    assert len(receiver.requests) == (1 if fresh else 0)
