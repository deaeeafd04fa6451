"""Activations: licensed software activates, heartbeats and deactivates with its key; seat
limits hold (also under 200 concurrent requests to a real server); floating seats whose
heartbeats stop are reaped by the worker; bad input changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core.auth import Role
from charter.core.models import Event
from charter.licensing import activations
from charter.licensing import service as licensing
from charter.licensing.models import License, LicenseActivation
from charter.partners.enums import PartnerStatus
from charter.tiers import flows
from charter.worker.runner import run_until_idle
from tests.factories import run_async
from tests.licensing.conftest import Licensing, publish_tiers
from tests.licensing.factories import license, product, sign, template
from tests.partners.factories import partner
from tests.servers import charter_serve

ACTIVATE = "/api/v1/licenses/activate"
DEACTIVATE = "/api/v1/licenses/deactivate"
HEARTBEAT = "/api/v1/licenses/heartbeat"
WINDOW = timedelta(seconds=600 * 2)  # the default interval times the default grace


def _issue(sessions, system, world: Licensing, **fields) -> tuple[str, str]:
    with sessions() as db, db.begin():
        issued, key = license(db, system, agreement_id=world.agreement, **fields)
        return issued.id, key


def _deployment(key: str, fingerprint: str, **extra) -> dict:
    return {
        "key": key,
        "fingerprint": fingerprint,
        "region": "emea",
        "customer_name": "Acme Hospital",
        **extra,
    }


def _refusal(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def _events(sessions, *types: str) -> list[Event]:
    with sessions() as db:
        return list(
            db.scalars(select(Event).where(Event.type.in_(types)).order_by(Event.seq)).all()
        )


def _license_events(sessions) -> int:
    """How many ``license.*`` events the log holds."""
    with sessions() as db:
        return db.scalar(
            select(func.count()).select_from(Event).where(Event.type.like("license.%"))
        )


def _active(sessions, license_id: str) -> int:
    with sessions() as db:
        return db.scalar(
            select(func.count())
            .select_from(LicenseActivation)
            .where(LicenseActivation.license_id == license_id, LicenseActivation.state == "active")
        )


def test_node_locked_seats_are_limited_and_reactivation_is_idempotent(
    client, sessions, system, world, frozen_clock
):
    license_id, key = _issue(sessions, system, world, seats=2)

    first = client.post(ACTIVATE, json=_deployment(key, "4F1C2A9E-7B3D-4C5E"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["id"].startswith("act_")
    assert body["license_id"] == license_id
    assert body["fingerprint"] == "4f1c2a9e-7b3d-4c5e"
    assert body["kind"] == "node_locked"
    assert body["state"] == "active"
    assert body["heartbeat_interval_seconds"] == 600
    assert body["heartbeat_deadline"] is None  # node-locked seats are never reaped

    # The same machine again (case and spaces forgiven): the same activation, no other seat.
    frozen_clock.advance(timedelta(minutes=5))
    again = client.post(ACTIVATE, json=_deployment(key.lower(), " 4f1c2a9e-7b3d-4c5e "))
    assert again.status_code == 200, again.text
    assert again.json()["id"] == body["id"]
    assert _active(sessions, license_id) == 1

    second = client.post(ACTIVATE, json=_deployment(key, "machine-two-0002", country="DE"))
    assert second.status_code == 201, second.text
    assert second.json()["country"] == "DE"
    _refusal(
        client.post(ACTIVATE, json=_deployment(key, "machine-three-03")),
        409,
        "TOO_MANY_ACTIVATIONS",
    )
    assert _active(sessions, license_id) == 2

    released = client.post(DEACTIVATE, json={"key": key, "fingerprint": "4F1C2A9E-7B3D-4C5E"})
    assert released.status_code == 200, released.text
    assert released.json()["state"] == "deactivated"
    _refusal(
        client.post(DEACTIVATE, json={"key": key, "fingerprint": "4f1c2a9e-7b3d-4c5e"}),
        404,
        "NOT_ACTIVATED",
    )
    third = client.post(ACTIVATE, json=_deployment(key, "machine-three-03"))
    assert third.status_code == 201, third.text

    activated = _events(sessions, "license.activated", "license.deactivated")
    assert [event.type for event in activated] == [
        "license.activated",
        "license.activated",
        "license.deactivated",
        "license.activated",
    ]
    assert activated[0].partner_id == world.firm
    assert activated[0].payload["customer_name"] == "Acme Hospital"


def test_heartbeats_extend_a_floating_seat_and_write_no_event(
    client, sessions, system, world, frozen_clock
):
    license_id, key = _issue(sessions, system, world, seats=1, seat_model="floating")
    made = client.post(ACTIVATE, json=_deployment(key, "floating-node-01"))
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "floating"
    start = frozen_clock.now()
    events_before = _license_events(sessions)

    for _ in range(3):
        frozen_clock.advance(WINDOW - timedelta(minutes=1))
        beat = client.post(HEARTBEAT, json={"key": key, "fingerprint": "floating-node-01"})
        assert beat.status_code == 200, beat.text
        run_until_idle(sessions)  # the reaper finds nothing due

    now = frozen_clock.now()
    assert now - start > WINDOW  # past the first deadline: only the heartbeats kept it
    assert beat.json()["state"] == "active"
    assert beat.json()["heartbeat_deadline"] == (now + WINDOW).isoformat().replace("+00:00", "Z")
    with sessions() as db:
        assert activations.activation_status(db, license_id, "FLOATING-NODE-01") == "active"
    assert _license_events(sessions) == events_before


def test_the_worker_reaps_floating_seats_whose_heartbeats_stopped(
    client, sessions, system, world, frozen_clock
):
    floating_id, floating_key = _issue(sessions, system, world, seats=1, seat_model="floating")
    locked_id, locked_key = _issue(sessions, system, world, seats=1)
    assert client.post(ACTIVATE, json=_deployment(floating_key, "lease-holder-1")).is_success
    assert client.post(ACTIVATE, json=_deployment(locked_key, "installed-box-1")).is_success
    _refusal(
        client.post(ACTIVATE, json=_deployment(floating_key, "lease-waiter-2")),
        409,
        "TOO_MANY_ACTIVATIONS",
    )

    frozen_clock.advance(WINDOW + timedelta(seconds=1))
    with sessions() as db:
        assert activations.activation_status(db, floating_id, "lease-holder-1") == "dead"
        assert activations.activation_status(db, locked_id, "installed-box-1") == "active"
    run_until_idle(sessions)

    with sessions() as db:
        states = dict(
            db.execute(select(LicenseActivation.fingerprint, LicenseActivation.state)).all()
        )
        assert activations.activation_status(db, floating_id, "lease-holder-1") == "dead"
        assert activations.activation_status(db, floating_id, "lease-waiter-2") == "not_activated"
    assert states == {"lease-holder-1": "reaped", "installed-box-1": "active"}
    [reaped] = _events(sessions, "license.activation_reaped")
    assert reaped.payload["license_id"] == floating_id
    assert reaped.partner_id == world.firm

    _refusal(
        client.post(HEARTBEAT, json={"key": floating_key, "fingerprint": "lease-holder-1"}),
        409,
        "HEARTBEAT_DEAD",
    )
    # The node-locked seat keeps its machine however long it is silent.
    beat = client.post(HEARTBEAT, json={"key": locked_key, "fingerprint": "installed-box-1"})
    assert beat.status_code == 200, beat.text
    # The freed seat is taken by another deployment; the reaped one must activate again.
    assert (
        client.post(ACTIVATE, json=_deployment(floating_key, "lease-waiter-2")).status_code == 201
    )
    _refusal(
        client.post(ACTIVATE, json=_deployment(floating_key, "lease-holder-1")),
        409,
        "TOO_MANY_ACTIVATIONS",
    )


def test_a_dead_seat_is_freed_at_activation_before_the_worker_runs(
    client, sessions, system, world, frozen_clock
):
    license_id, key = _issue(sessions, system, world, seats=1, seat_model="floating")
    assert client.post(ACTIVATE, json=_deployment(key, "lease-holder-1")).status_code == 201
    frozen_clock.advance(WINDOW)

    _refusal(
        client.post(HEARTBEAT, json={"key": key, "fingerprint": "lease-holder-1"}),
        409,
        "HEARTBEAT_DEAD",
    )
    taken = client.post(ACTIVATE, json=_deployment(key, "lease-holder-2"))
    assert taken.status_code == 201, taken.text
    assert [e.type for e in _events(sessions, "license.activation_reaped")] == [
        "license.activation_reaped"
    ]
    assert _active(sessions, license_id) == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("suspend", "SUSPENDED"),
        ("revoke", "REVOKED"),
        ("expire", "EXPIRED"),
        ("partner", "PARTNER_SUSPENDED"),
    ],
)
def test_a_license_that_may_not_be_used_is_refused(
    change, code, client, sessions, system, world, frozen_clock
):
    license_id, key = _issue(sessions, system, world, seats=3)
    assert client.post(ACTIVATE, json=_deployment(key, "early-machine-1")).status_code == 201
    with sessions() as db, db.begin():
        if change == "suspend":
            licensing.suspend_license(db, system, license_id=license_id, reason="unpaid")
        elif change == "revoke":
            licensing.revoke_license(db, system, license_id=license_id, reason="breach")
        elif change == "partner":
            flows.change_partner_status(
                db, system, partner_id=world.firm, status=PartnerStatus.SUSPENDED, reason="late"
            )
    if change == "expire":
        frozen_clock.advance(timedelta(days=400))
    before = _license_events(sessions)

    _refusal(client.post(ACTIVATE, json=_deployment(key, "later-machine-2")), 409, code)
    if change == "revoke":
        # A revoked license gave its seats back when it was revoked.
        _refusal(
            client.post(HEARTBEAT, json={"key": key, "fingerprint": "early-machine-1"}), 409, code
        )
        assert _active(sessions, license_id) == 0
        assert _license_events(sessions) == before
        return
    _refusal(client.post(HEARTBEAT, json={"key": key, "fingerprint": "early-machine-1"}), 409, code)
    assert _active(sessions, license_id) == 1
    assert _license_events(sessions) == before
    # A deployment may still be uninstalled and give its seat back.
    assert client.post(DEACTIVATE, json={"key": key, "fingerprint": "early-machine-1"}).is_success


@pytest.mark.parametrize("ending", ["revoke", "terminate", "expire", "reinstate_after_term"])
def test_a_license_that_ends_frees_its_seats(ending, client, sessions, system, world, frozen_clock):
    # Node-locked: floating seats would be reaped anyway once the clock jumps past the term.
    license_id, key = _issue(sessions, system, world, seats=3)
    other_id, other_key = _issue(
        sessions, system, world, seats=1, valid_until=frozen_clock.now() + timedelta(days=800)
    )
    for fingerprint in ("ended-machine-1", "ended-machine-2", "gone-machine-3"):
        assert client.post(ACTIVATE, json=_deployment(key, fingerprint)).status_code == 201
    assert client.post(DEACTIVATE, json={"key": key, "fingerprint": "gone-machine-3"}).is_success
    assert client.post(ACTIVATE, json=_deployment(other_key, "bystander-box-1")).status_code == 201
    with sessions() as db:
        gone_at = db.scalar(
            select(LicenseActivation.deactivated_at).where(
                LicenseActivation.fingerprint == "gone-machine-3"
            )
        )

    frozen_clock.advance(timedelta(minutes=5))
    with sessions() as db, db.begin():
        if ending == "revoke":
            licensing.revoke_license(db, system, license_id=license_id, reason="breach")
        elif ending == "terminate":
            licensing.terminate_license(db, system, license_id=license_id, reason="contract ended")
        elif ending == "reinstate_after_term":
            licensing.suspend_license(db, system, license_id=license_id, reason="unpaid")
    if ending == "reinstate_after_term":
        # Suspended, the license keeps its seats, even past its term.
        frozen_clock.advance(timedelta(days=400))
        assert _active(sessions, license_id) == 2
        with sessions() as db, db.begin():
            licensing.reinstate_license(db, system, license_id=license_id, reason="paid")
    elif ending == "expire":
        frozen_clock.advance(timedelta(days=400))
        # Past its term the license reads as expired, and its seats go when the worker
        # records it.
        assert _active(sessions, license_id) == 2
        run_until_idle(sessions)
    ended_at = frozen_clock.now()
    status = {"revoke": "revoked", "terminate": "terminated"}.get(ending, "expired")

    with sessions() as db:
        rows = {
            row.fingerprint: row
            for row in db.scalars(
                select(LicenseActivation).where(LicenseActivation.license_id == license_id)
            )
        }
        assert db.get(License, license_id).status == status
        bystander = db.scalar(
            select(LicenseActivation).where(LicenseActivation.license_id == other_id)
        )
        assert bystander.state == "active"  # another license's seat is its own
    assert {name: row.state for name, row in rows.items()} == {
        "ended-machine-1": "deactivated",
        "ended-machine-2": "deactivated",
        "gone-machine-3": "deactivated",
    }
    for name in ("ended-machine-1", "ended-machine-2"):
        assert rows[name].deactivated_at == ended_at
        assert rows[name].ended_reason.startswith(f"the license was {status}: ")
    assert rows["gone-machine-3"].deactivated_at == gone_at  # ended before: left as it was
    assert rows["gone-machine-3"].ended_reason == "deactivated by the deployment"

    freed = [
        event
        for event in _events(sessions, "license.deactivated")
        if event.payload["license_id"] == license_id
    ]
    assert sorted(event.payload["fingerprint"] for event in freed) == [
        "ended-machine-1",
        "ended-machine-2",
        "gone-machine-3",
    ]
    for event in freed:
        assert event.partner_id == world.firm
        if event.payload["fingerprint"] != "gone-machine-3":
            assert event.subject_id == rows[event.payload["fingerprint"]].id
            assert event.payload["reason"] == rows[event.payload["fingerprint"]].ended_reason
    # The ended license gets no seat back: activating and heartbeats are refused.
    _refusal(
        client.post(HEARTBEAT, json={"key": key, "fingerprint": "ended-machine-1"}),
        409,
        status.upper(),
    )
    _refusal(
        client.post(DEACTIVATE, json={"key": key, "fingerprint": "ended-machine-1"}),
        404,
        "NOT_ACTIVATED",
    )


def test_a_suspended_license_keeps_its_seats_and_works_again_when_reinstated(
    client, sessions, system, world, frozen_clock
):
    license_id, key = _issue(sessions, system, world, seats=2)
    assert client.post(ACTIVATE, json=_deployment(key, "kept-machine-1")).status_code == 201
    with sessions() as db, db.begin():
        licensing.suspend_license(db, system, license_id=license_id, reason="unpaid")
    assert _active(sessions, license_id) == 1
    assert _events(sessions, "license.deactivated") == []
    _refusal(
        client.post(HEARTBEAT, json={"key": key, "fingerprint": "kept-machine-1"}),
        409,
        "SUSPENDED",
    )

    with sessions() as db, db.begin():
        licensing.reinstate_license(db, system, license_id=license_id, reason="paid")
    beat = client.post(HEARTBEAT, json={"key": key, "fingerprint": "kept-machine-1"})
    assert beat.status_code == 200, beat.text
    assert _active(sessions, license_id) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fingerprint", "short"),
        ("fingerprint", "has spaces in it"),
        ("fingerprint", "-starts-with-dash"),
        ("fingerprint", "x" * 129),
        ("fingerprint", "naïve-fingerprint"),
        ("key", "CHL-not-a-key"),
        ("key", "CHL-00000-00000-00000-00000-1"),  # the check character does not match
        ("region", "mars"),
        ("country", "XX"),
        ("customer_name", ""),
    ],
)
def test_malformed_input_names_the_field_and_changes_nothing(
    field, value, client, sessions, system, world, frozen_clock
):
    license_id, key = _issue(sessions, system, world, seats=3)
    body = _deployment(key, "good-fingerprint")
    body[field] = value

    response = client.post(ACTIVATE, json=body)

    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert _active(sessions, license_id) == 0
    assert _events(sessions, "license.activated") == []
    if field in {"fingerprint", "key"}:
        keyed = {"key": key, "fingerprint": "good-fingerprint", field: value}
        for path in (HEARTBEAT, DEACTIVATE):
            refused = client.post(path, json=keyed)
            assert refused.status_code == 422, refused.text
            assert [error["field"] for error in refused.json()["errors"]] == [field]


def test_unknown_keys_are_refused_and_places_outside_the_territory_take_no_seat(
    client, sessions, system, world, frozen_clock
):
    license_id, key = _issue(sessions, system, world, seats=3, regions=["emea"], countries=[])
    other, _ = _issue(sessions, system, world, seats=3)
    with sessions() as db, db.begin():
        licensing.revoke_license(db, system, license_id=other, reason="test")
    unknown = "CHL-00000-00000-00000-00000-0"
    _refusal(client.post(ACTIVATE, json=_deployment(unknown, "good-fingerprint")), 404, "NOT_FOUND")

    # Outside the territory: no seat, held for approval (see test_portability).
    outside = client.post(ACTIVATE, json=_deployment(key, "good-fingerprint", region="na"))
    assert outside.status_code == 202, outside.text
    assert outside.json()["code"] == "PENDING_APPROVAL"
    _refusal(
        client.post(HEARTBEAT, json={"key": key, "fingerprint": "good-fingerprint"}),
        404,
        "NOT_ACTIVATED",
    )
    assert _active(sessions, license_id) == 0


def test_staff_and_the_firm_see_activations_and_managers_free_seats(
    client, sessions, system, world, make, frozen_clock
):
    license_id, key = _issue(sessions, system, world, seats=1)
    made = client.post(ACTIVATE, json=_deployment(key, "installed-box-1"))
    activation_id = made.json()["id"]
    manager = make.login(Role.PROGRAM_MANAGER)
    member = make.login(Role.PARTNER_MEMBER, partner_id=world.firm)
    with sessions() as db, db.begin():
        stranger_firm = partner(db, system, status="active")
    stranger = make.login(Role.PARTNER_ADMIN, partner_id=stranger_firm.id)

    listed = client.get(f"/api/v1/licenses/{license_id}/activations", headers=member.headers)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [activation_id]
    hidden = client.get(f"/api/v1/licenses/{license_id}/activations", headers=stranger.headers)
    assert hidden.status_code == 404
    path = f"/api/v1/licenses/{license_id}/activations/{activation_id}/deactivate"
    assert client.post(path, json={"reason": "moved"}, headers=member.headers).status_code == 403

    freed = client.post(path, json={"reason": "hardware replaced"}, headers=manager.headers)
    assert freed.status_code == 200, freed.text
    assert freed.json()["state"] == "deactivated"
    assert freed.json()["ended_reason"] == "hardware replaced"
    again = client.post(path, json={"reason": "twice"}, headers=manager.headers)
    assert again.status_code == 409
    [event] = _events(sessions, "license.deactivated")
    assert event.actor_id == manager.principal.id
    assert client.post(ACTIVATE, json=_deployment(key, "replacement-box")).status_code == 201
    only_active = client.get(
        f"/api/v1/licenses/{license_id}/activations?state=active", headers=manager.headers
    )
    assert [item["fingerprint"] for item in only_active.json()["items"]] == ["replacement-box"]


def test_key_authenticated_calls_need_no_session_and_ignore_idempotency_keys(
    client, sessions, system, world, frozen_clock
):
    _, key = _issue(sessions, system, world, seats=2)
    headers = {"Idempotency-Key": "activate-1"}

    first = client.post(ACTIVATE, json=_deployment(key, "machine-one-001"), headers=headers)
    second = client.post(ACTIVATE, json=_deployment(key, "machine-two-002"), headers=headers)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert "set-cookie" not in first.headers


# 200 concurrent activations against a real server.

CONCURRENT = 200
SEATS = 10


@pytest.fixture
def settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})


@pytest.fixture
def server(engine: Engine, port: int, settings: Settings, tmp_path: Path) -> Iterator[str]:
    """``charter serve`` on the test database; requests queue for a slot rather than get 503."""
    env = {
        "CHARTER_SERVER_WRITE_SLOTS": "8",
        "CHARTER_SERVER_QUEUE_SECONDS": "120",
        "CHARTER_DATABASE_LOCK_TIMEOUT_SECONDS": "120",
    }
    with charter_serve(engine, settings, tmp_path, port, env) as base:
        yield base


@pytest.fixture
def ten_seats(sessions, system) -> tuple[str, str]:
    """A 10-seat license issued now (the server runs on the real clock)."""
    with sessions() as db, db.begin():
        publish_tiers(db, system)
        firm = partner(db, system, status="active")
        made = product(db, system)
        offer = template(db, system, product_id=made.id)
        agreement = sign(db, system, partner_id=firm.id, template_id=offer.id)
        issued, key = license(db, system, agreement_id=agreement.id, seats=SEATS)
        return issued.id, key


async def _activate_all(base: str, key: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300) as client:
        start = asyncio.Event()

        async def one(n: int) -> httpx.Response:
            await start.wait()
            return await client.post(ACTIVATE, json=_deployment(key, f"concurrent-node-{n:04d}"))

        tasks = [asyncio.create_task(one(n)) for n in range(CONCURRENT)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def test_200_concurrent_activations_of_a_10_seat_license_take_exactly_10_seats(
    server: str, ten_seats: tuple[str, str], engine: Engine
) -> None:
    license_id, key = ten_seats

    responses = run_async(lambda: _activate_all(server, key))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * SEATS + [409] * (CONCURRENT - SEATS)
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] == "TOO_MANY_ACTIVATIONS"
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    with Session(engine) as db:
        active = set(
            db.scalars(
                select(LicenseActivation.id).where(
                    LicenseActivation.license_id == license_id,
                    LicenseActivation.state == "active",
                )
            )
        )
        logged = db.scalar(
            select(func.count()).select_from(Event).where(Event.type == "license.activated")
        )
    assert active == created
    assert logged == SEATS


@pytest.mark.parametrize(
    ("closure", "code"), [("terminated", "TERMINATED"), ("lapsed", "CERTIFICATION_REQUIRED")]
)
def test_a_closed_or_lapsed_license_takes_no_new_seat_but_keeps_its_own(
    closure, code, client, sessions, system, world, frozen_clock
):
    license_id, key = _issue(sessions, system, world, seats=3)
    assert client.post(ACTIVATE, json=_deployment(key, "early-machine-1")).status_code == 201
    with sessions() as db, db.begin():
        issued = db.get(License, license_id)
        if closure == "terminated":
            issued.activations_closed_at = frozen_clock.now()
            issued.wind_down_until = frozen_clock.now() + timedelta(days=30)
        else:
            issued.compliance = "lapsed"
            issued.compliance_missing = ["2 certified engineers"]

    refused = client.post(ACTIVATE, json=_deployment(key, "later-machine-2"))
    _refusal(refused, 409, code)
    assert _active(sessions, license_id) == 1
    again = client.post(ACTIVATE, json=_deployment(key, "early-machine-1"))
    assert again.status_code == 200, again.text
