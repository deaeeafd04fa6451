"""The webhook health and licensing reports against figures worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from charter.approvals import service as approvals
from charter.config import Settings
from charter.core.auth import Role
from charter.licensing import activations
from charter.licensing.alerts import acknowledge_alert, raise_alert
from charter.licensing.anomalies import Finding, Rule, Severity
from charter.reports import service
from charter.worker.runner import run_until_idle
from tests.approvals import types as approval_types
from tests.credentials.factories import award
from tests.licensing.factories import license, product, sign, template, terms
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.webhooks.receiver import Receiver


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings that may deliver webhooks to the loopback receiver."""
    return Settings(
        database_url="sqlite://",
        secret_key="test-secret-key-not-for-production",
        data_dir=tmp_path,
        idempotency_wait_seconds=10,
        webhook_allow_private=True,
        webhook_timeout_seconds=5,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


def _rows(db, system, name, table):
    return service.run_report(db, system, name=name).table(table).rows


def test_webhook_health_per_endpoint(client, make, sessions, system, receiver, frozen_clock):
    admin = make.login(Role.ADMIN)
    made = client.post(
        "/api/v1/webhooks",
        json={"url": f"{receiver.url}?token=s3cret", "event_types": ["award.issued"]},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    quiet = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["license.*"]},
        headers=admin.headers,
    ).json()

    def issue() -> None:
        with sessions() as db, db.begin():
            firm = partner(db, system, status="active")
            holder = person(db, system, partner_id=firm.id)
            cert = certification(db, system)
            award(db, system, person_id=holder.id, certification_id=cert.id)

    issue()
    issue()
    run_until_idle(sessions)  # two delivered at the first attempt
    receiver.status = 503
    issue()
    run_until_idle(sessions)  # refused once...
    receiver.status = 200
    frozen_clock.advance(timedelta(minutes=10))
    run_until_idle(sessions)  # ...delivered at the second attempt

    with sessions() as db:
        rows = _rows(db, system, "webhook-health", "endpoints")
    assert [row["endpoint_id"] for row in rows] == [made.json()["id"], quiet["id"]]
    busy, idle = rows
    assert busy["url"] == receiver.url.split("?")[0]  # the query may hold a secret
    assert "s3cret" not in str(busy["url"])
    assert {k: busy[k] for k in ("deliveries", "delivered", "failed", "pending", "retries")} == {
        "deliveries": 3,
        "delivered": 3,
        "failed": 0,
        "pending": 0,
        "retries": 1,
    }
    assert busy["success_rate"] == 100.0
    assert busy["retried"] == 1
    assert (idle["deliveries"], idle["success_rate"], idle["retries"]) == (0, None, 0)


def test_licensing_report(client, sessions, system, frozen_clock):
    capped = terms(
        fee={
            "model": "usage",
            "unit": "api_calls",
            "currency": "EUR",
            "tiers": [{"up_to": None, "rate": "0.01"}],
        },
        usage_caps={"api_calls": {"limit": 100, "period": "month", "overage": "deny"}},
    )
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        made = product(db, system, code="PLAT-R")
        offer = template(db, system, product_id=made.id, terms=capped)
        agreement = sign(db, system, partner_id=firm.id, template_id=offer.id)
        first, first_key = license(db, system, agreement_id=agreement.id, seats=10)
        second, second_key = license(db, system, agreement_id=agreement.id, seats=5)
        for n, key in enumerate([first_key, first_key, first_key, second_key]):
            activations.activate(
                db, key=key, fingerprint=f"machine-{n}", region="emea", customer_name="Acme",
                country="DE",
            )  # fmt: skip
        high = raise_alert(
            db, system, license_id=first.id, finding=Finding(Rule.SHARING, Severity.HIGH),
            at=frozen_clock.now(),
        )  # fmt: skip
        medium = raise_alert(
            db, system, license_id=second.id, finding=Finding(Rule.USAGE_SPIKE, Severity.MEDIUM),
            at=frozen_clock.now(),
        )  # fmt: skip
        acknowledge_alert(db, system, alert_id=medium.id)
        assert high.state == "open"

    def send(key, record_id, quantity):
        record = {
            "metric": "api_calls",
            "quantity": quantity,
            "occurred_at": frozen_clock.now().isoformat(),
            "record_id": record_id,
        }
        answer = client.post("/api/v1/usage", json={"key": key, "records": [record]})
        assert answer.status_code == 200, answer.text

    send(first_key, "a", 60)
    send(first_key, "b", 50)  # 110: past the cap of 100, which denies
    send(second_key, "c", 5)

    def ask(website):
        with sessions() as db, db.begin():
            return approvals.request_approval(
                db, system, type=approval_types.WEBSITE, subject_type="partner",
                subject_id=firm.id, partner_id=firm.id, justification="rebranded",
                proposed_change={"website": website},
            ).id  # fmt: skip

    asked = ask("https://one.example")
    frozen_clock.advance(timedelta(hours=5))
    with sessions() as db, db.begin():
        approvals.approve(db, system, request_id=asked)
    asked = ask("https://two.example")
    frozen_clock.advance(timedelta(hours=3))
    with sessions() as db, db.begin():
        approvals.reject(db, system, request_id=asked, reason="not yet")
    ask("https://three.example")

    with sessions() as db:
        report = service.run_report(db, system, name="licensing")
    assert report.table("licenses").rows == [
        {"product": "PLAT-R", "status": "active", "licenses": 2, "seats": 15}
    ]
    assert report.table("seats").rows == [
        {"product": "PLAT-R", "seats": 15, "in_use": 4, "utilization": 26.7}
    ]
    assert report.table("usage").rows == [
        {"metric": "api_calls", "licenses": 2, "units": 115, "over_cap": 1, "denied": 1}
    ]
    assert report.table("approvals").rows == [
        {
            "type": approval_types.WEBSITE,
            "requests": 3,
            "approved": 1,
            "rejected": 1,
            "pending": 1,
            "mean_hours": 4.0,
            "max_hours": 5.0,
        }
    ]
    assert report.table("alerts").rows == [
        {"severity": "high", "open": 1, "acknowledged": 0, "resolved": 0},
        {"severity": "medium", "open": 0, "acknowledged": 1, "resolved": 0},
        {"severity": "low", "open": 0, "acknowledged": 0, "resolved": 0},
    ]
    assert report.parameters == {"period": "2026-03"}
