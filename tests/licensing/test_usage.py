"""Usage metering: each record counted once however often it is sent, rollups that add up,
whole batches refused with every bad record named, caps, and partner scope."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from charter.core.auth import Role
from charter.core.models import Event
from charter.licensing import usage
from charter.licensing.usage_models import UsageRecord, UsageRollup
from charter.licensing.usage_schemas import UsageBatch
from tests.licensing.factories import license, sign, template, terms
from tests.partners.factories import partner

MARCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the frozen clock's time: licenses start here


def _record(record_id: str, *, quantity: int = 1, at: datetime = MARCH, **extra) -> dict:
    return {
        "metric": "api_calls",
        "quantity": quantity,
        "occurred_at": at.isoformat(),
        "record_id": record_id,
        **extra,
    }


def _stored(db) -> int:
    value = db.scalar(select(func.count()).select_from(UsageRecord))
    db.rollback()
    return value


def _rollups(db, license_id: str) -> dict[tuple[str, str], int]:
    rows = db.execute(
        select(UsageRollup.metric, UsageRollup.period, UsageRollup.total).where(
            UsageRollup.license_id == license_id
        )
    ).all()
    db.rollback()
    return {(metric, period.strftime("%Y-%m")): total for metric, period, total in rows}


def _events(db, type_: str) -> list[dict]:
    rows = db.scalars(select(Event.payload).where(Event.type == type_).order_by(Event.seq)).all()
    db.rollback()
    return list(rows)


def _over_cap(db, license_id: str) -> list[str]:
    metrics = usage.usage_over_cap(db, license_id)
    db.rollback()  # end the read: on SQLite an open transaction would hold the write lock
    return metrics


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


@pytest.fixture
def licensed(world, sessions, system):
    """A license of the world's firm, with its key."""
    with sessions() as db, db.begin():
        issued, key = license(db, system, agreement_id=world.agreement)
        return issued.id, key


def _capped_license(sessions, system, world, caps: dict) -> tuple[str, str]:
    """A license under an agreement with a usage fee on api_calls and the given caps."""
    metered = terms(
        fee={
            "model": "usage",
            "unit": "api_calls",
            "currency": "EUR",
            "tiers": [{"up_to": 1000, "rate": "0.01"}, {"up_to": None, "rate": "0.005"}],
        },
        usage_caps=caps,
    )
    with sessions() as db, db.begin():
        offer = template(db, system, product_id=world.product, terms=metered)
        agreement = sign(db, system, partner_id=world.firm, template_id=offer.id)
        issued, key = license(db, system, agreement_id=agreement.id)
        return issued.id, key


def test_a_record_is_counted_once_however_often_it_is_sent(client, db, licensed):
    license_id, key = licensed
    batch = [_record(f"r-{n}", quantity=n) for n in (1, 2, 3)]

    first = client.post("/api/v1/usage", json={"key": key, "records": batch})
    again = client.post("/api/v1/usage", json={"key": key, "records": batch})
    overlapping = client.post(
        "/api/v1/usage",
        json={"key": key, "records": [*batch[1:], _record("r-4", quantity=4), _record("r-5")]},
    )
    # Repeated within one batch: the first stands.
    within = client.post(
        "/api/v1/usage",
        json={"key": key, "records": [_record("r-6", quantity=6), _record("r-6", quantity=60)]},
    )

    assert first.status_code == 200, first.text
    assert first.json() == {"received": 3, "accepted": 3, "duplicates": 0}
    assert again.json() == {"received": 3, "accepted": 0, "duplicates": 3}
    assert overlapping.json() == {"received": 4, "accepted": 2, "duplicates": 2}
    assert within.json() == {"received": 2, "accepted": 1, "duplicates": 1}
    assert _stored(db) == 6
    assert _rollups(db, license_id) == {("api_calls", "2026-03"): 1 + 2 + 3 + 4 + 1 + 6}


def test_the_same_record_id_counts_for_each_license(client, db, world, sessions, system, make):
    with sessions() as db_, db_.begin():
        one, _ = license(db_, system, agreement_id=world.agreement)
        two, _ = license(db_, system, agreement_id=world.agreement)
    manager = make.login(Role.PROGRAM_MANAGER)

    response = client.post(
        "/api/v1/usage",
        json={
            "records": [
                _record("same", license_id=one.id, quantity=5),
                _record("same", license_id=two.id, quantity=7),
            ]
        },
        headers=manager.headers,
    )

    assert response.json() == {"received": 2, "accepted": 2, "duplicates": 0}
    assert _rollups(db, one.id) == {("api_calls", "2026-03"): 5}
    assert _rollups(db, two.id) == {("api_calls", "2026-03"): 7}


def test_rollups_per_metric_and_month_with_filters(client, licensed, frozen_clock, make, world):
    license_id, key = licensed
    frozen_clock.set(datetime(2026, 5, 2, tzinfo=UTC))
    april = datetime(2026, 4, 30, 23, 59, tzinfo=UTC)
    records = [
        _record("a", quantity=10),
        _record("b", quantity=5, at=MARCH + timedelta(days=30)),  # 31 March
        _record("c", quantity=7, at=april),
        _record("d", quantity=2, at=datetime(2026, 5, 1, 0, 0, tzinfo=UTC)),
        {**_record("e", quantity=100, at=april), "metric": "storage_gb"},
    ]
    assert client.post("/api/v1/usage", json={"key": key, "records": records}).is_success
    member = make.login(Role.PARTNER_MEMBER, partner_id=world.firm)
    url = f"/api/v1/licenses/{license_id}/usage"

    everything = client.get(url, headers=member.headers)
    calls = client.get(url, params={"metric": "api_calls"}, headers=member.headers)
    april_only = client.get(
        url,
        params={"from": "2026-04-15T00:00:00Z", "to": "2026-05-01T00:00:00Z"},
        headers=member.headers,
    )

    assert everything.status_code == 200, everything.text
    assert [(r["metric"], r["period"][:7], r["total"]) for r in everything.json()] == [
        ("api_calls", "2026-03", 15),
        ("api_calls", "2026-04", 7),
        ("storage_gb", "2026-04", 100),
        ("api_calls", "2026-05", 2),
    ]
    assert [r["total"] for r in calls.json()] == [15, 7, 2]
    assert [(r["metric"], r["total"]) for r in april_only.json()] == [
        ("api_calls", 7),
        ("storage_gb", 100),
    ]


def test_an_oversize_batch_is_refused_and_stores_nothing(client, db, licensed):
    _, key = licensed
    records = [_record(f"r-{n}") for n in range(1001)]

    response = client.post("/api/v1/usage", json={"key": key, "records": records})

    assert _fields(response) == ["records"]
    assert _stored(db) == 0


def test_a_batch_of_exactly_the_limit_is_taken(client, db, licensed):
    _, key = licensed
    records = [_record(f"r-{n}") for n in range(1000)]

    response = client.post("/api/v1/usage", json={"key": key, "records": records})

    assert response.json() == {"received": 1000, "accepted": 1000, "duplicates": 0}


def test_malformed_records_are_named_by_index_and_field(client, db, licensed):
    _, key = licensed
    records = [
        _record("ok"),
        _record("zero", quantity=0),
        {**_record("fraction"), "quantity": 1.5},
        {**_record("naive"), "occurred_at": "2026-03-01T12:00:00"},
        {**_record("bad-metric"), "metric": "API Calls"},
        _record(""),
    ]

    response = client.post("/api/v1/usage", json={"key": key, "records": records})

    assert _fields(response) == [
        "records.1.quantity",
        "records.2.quantity",
        "records.3.occurred_at",
        "records.4.metric",
        "records.5.record_id",
    ]
    assert _stored(db) == 0


def test_records_the_license_cannot_have_are_named_and_nothing_stored(
    client, db, sessions, system, world, frozen_clock
):
    license_id, key = _capped_license(sessions, system, world, {})
    records = [
        _record("ok"),
        {**_record("other-metric"), "metric": "storage_gb"},
        _record("future", at=MARCH + timedelta(hours=1)),
        _record("before", at=MARCH - timedelta(days=1)),
        _record("slightly-ahead", at=MARCH + timedelta(minutes=2)),  # within the clock skew
        _record("another-license", license_id="lic_00000000000000000000000000"),
    ]

    response = client.post("/api/v1/usage", json={"key": key, "records": records})

    assert _fields(response) == [
        "records.5.license_id",
        "records.1.metric",
        "records.2.occurred_at",
        "records.3.occurred_at",
    ]
    assert "nothing was stored" in response.json()["detail"]
    assert _stored(db) == 0
    assert _rollups(db, license_id) == {}


def test_a_wrong_key_is_unauthorized(client, db, licensed):
    _, key = licensed
    wrong = key[:-5] + ("AAAAA" if not key.endswith("AAAAA") else "BBBBB")

    response = client.post("/api/v1/usage", json={"key": wrong, "records": [_record("x")]})
    unauthenticated = client.post("/api/v1/usage", json={"records": [_record("x")]})

    assert response.status_code in {401, 422}, response.text
    assert unauthenticated.status_code == 401
    assert _stored(db) == 0


def test_api_key_callers_report_for_their_own_firms_licenses(
    client, db, licensed, make, world, sessions, system
):
    license_id, _ = licensed
    with sessions() as db_, db_.begin():
        other = partner(db_, system, status="active")
    admin = make.login(Role.PARTNER_ADMIN, partner_id=world.firm)
    stranger = make.login(Role.PARTNER_ADMIN, partner_id=other.id)
    member = make.login(Role.PARTNER_MEMBER, partner_id=world.firm)
    body = {"records": [_record("p-1", license_id=license_id, quantity=3)]}

    refused = client.post("/api/v1/usage", json=body, headers=stranger.headers)
    forbidden = client.post("/api/v1/usage", json=body, headers=member.headers)
    unnamed = client.post(
        "/api/v1/usage", json={"records": [_record("p-2")]}, headers=admin.headers
    )
    taken = client.post("/api/v1/usage", json=body, headers=admin.headers)

    assert _fields(refused) == ["records.0.license_id"]
    assert forbidden.status_code == 403
    assert _fields(unnamed) == ["records.0.license_id"]
    assert taken.json() == {"received": 1, "accepted": 1, "duplicates": 0}
    assert _rollups(db, license_id) == {("api_calls", "2026-03"): 3}


def test_partner_users_read_only_their_own_firms_usage(
    client, licensed, make, world, sessions, system
):
    license_id, key = licensed
    client.post("/api/v1/usage", json={"key": key, "records": [_record("x", quantity=4)]})
    with sessions() as db_, db_.begin():
        other = partner(db_, system, status="active")
    stranger = make.login(Role.PARTNER_MEMBER, partner_id=other.id)
    auditor = make.login(Role.AUDITOR)

    hidden = client.get(f"/api/v1/licenses/{license_id}/usage", headers=stranger.headers)
    seen = client.get(f"/api/v1/licenses/{license_id}/usage", headers=auditor.headers)

    assert hidden.status_code == 404
    assert [r["total"] for r in seen.json()] == [4]


def test_passing_an_allow_and_flag_cap_records_one_event_a_period(
    client, db, sessions, system, world, frozen_clock
):
    caps = {"api_calls": {"limit": 100, "period": "month", "overage": "allow_and_flag"}}
    license_id, key = _capped_license(sessions, system, world, caps)

    def send(record_id: str, quantity: int) -> None:
        response = client.post(
            "/api/v1/usage",
            json={
                "key": key,
                "records": [_record(record_id, quantity=quantity, at=frozen_clock.now())],
            },
        )
        assert response.status_code == 200, response.text

    send("a", 60)
    send("b", 40)  # exactly at the cap: still within
    assert _events(db, "license.usage_over_cap") == []
    send("c", 1)
    send("d", 500)
    send("c", 1)  # sent again: nothing changes
    [event] = _events(db, "license.usage_over_cap")
    assert event["metric"] == "api_calls"
    assert event["limit"] == 100
    assert event["total"] == 101
    assert event["overage"] == "allow_and_flag"
    assert _over_cap(db, license_id) == []  # allowed: validation goes on

    frozen_clock.set(datetime(2026, 4, 2, tzinfo=UTC))
    send("e", 101)
    assert [e["period_start"][:7] for e in _events(db, "license.usage_over_cap")] == [
        "2026-03",
        "2026-04",
    ]


def test_passing_a_deny_cap_shows_in_usage_over_cap_until_the_period_ends(
    client, db, sessions, system, world, frozen_clock
):
    caps = {
        "api_calls": {"limit": 10, "period": "year", "overage": "deny"},
        "storage_gb": {"limit": 5, "overage": "deny"},
    }
    license_id, key = _capped_license(sessions, system, world, caps)

    def send(record_id: str, quantity: int, at: datetime) -> None:
        response = client.post(
            "/api/v1/usage",
            json={"key": key, "records": [_record(record_id, quantity=quantity, at=at)]},
        )
        assert response.status_code == 200, response.text

    send("a", 10, MARCH)
    assert _over_cap(db, license_id) == []
    frozen_clock.set(datetime(2026, 6, 1, tzinfo=UTC))
    send("b", 1, frozen_clock.now())  # a yearly cap adds up the year's months
    assert _over_cap(db, license_id) == ["api_calls"]
    [event] = _events(db, "license.usage_over_cap")
    assert event["overage"] == "deny"
    assert event["period_start"].startswith("2026-01-01")

    frozen_clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    assert _over_cap(db, license_id) == []


def test_batches_sent_at_once_count_each_record_once(sessions, licensed):
    license_id, key = licensed
    batch = UsageBatch.model_validate(
        {"key": key, "records": [_record(f"c-{n}", quantity=2) for n in range(200)]}
    )
    with sessions() as db:
        caller = usage.license_principal(db, key)
    start = threading.Barrier(4)

    def send() -> int:
        start.wait(timeout=30)
        with sessions() as db, db.begin():
            return usage.report_usage(db, caller, records=batch.records).accepted

    with ThreadPoolExecutor(4) as pool:
        accepted = list(pool.map(lambda _: send(), range(4)))

    assert sum(accepted) == 200
    with sessions() as db:
        assert _rollups(db, license_id) == {("api_calls", "2026-03"): 400}
        assert _stored(db) == 200
