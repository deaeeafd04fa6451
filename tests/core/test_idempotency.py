"""Idempotency-Key: a repeated creating call returns the first outcome and creates nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select, update

from charter.accounts import service as accounts
from charter.accounts.models import ApiKey, User
from charter.core.auth import Permission, Role
from charter.core.models import IdempotencyRecord
from charter.worker.runner import run_until_idle
from tests.web.helpers import csrf_from, sign_in, web_user

FIRM = {"name": "Contoso", "type": "var", "regions": ["na"], "country": "US"}


@pytest.fixture
def settings(settings):
    """A repeat waits briefly for a first request still running, then is told so."""
    return settings.model_copy(update={"idempotency_wait_seconds": 0.3})


@pytest.fixture
def things(app):
    """``POST /api/v1/things``: counts its runs and answers with headers worth keeping."""
    runs = itertools.count(1)

    async def make_thing(request: Request) -> Response:
        run = next(runs)
        response = JSONResponse(
            {"run": run},
            status_code=201,
            media_type="application/vnd.thing+json",
            headers={"Location": f"/api/v1/things/{run}", "ETag": f'"thing-{run}"'},
        )
        response.set_cookie("thing", str(run))
        return response

    app.router.add_route("/api/v1/things", make_thing, methods=["POST"])
    return runs


def _create(client, headers, key, email="new.user@example.com"):
    return client.post(
        "/api/v1/users",
        json={"email": email, "display_name": "New", "role": "auditor", "password": "x" * 16},
        headers={**headers, "Idempotency-Key": key},
    )


def _records(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(IdempotencyRecord))


def test_a_repeat_replays_the_first_response(client, make, db):
    admin = make.login(Role.ADMIN)
    first = _create(client, admin.headers, "k-1")
    second = _create(client, admin.headers, "k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert (
        db.scalar(
            select(func.count()).select_from(User).where(User.email == "new.user@example.com")
        )
        == 1
    )


def test_a_replay_keeps_the_first_responses_headers(client, make, things):
    admin = make.login(Role.ADMIN)
    headers = {**admin.headers, "Idempotency-Key": "thing-1"}
    first = client.post("/api/v1/things", json={}, headers=headers)
    second = client.post("/api/v1/things", json={}, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() == {"run": 1}
    assert second.headers["idempotent-replayed"] == "true"
    for name in ("location", "etag", "content-type"):
        assert second.headers[name] == first.headers[name], name
    assert second.headers["location"] == "/api/v1/things/1"
    assert second.headers["content-type"] == "application/vnd.thing+json"
    assert int(second.headers["content-length"]) == len(second.content)
    # A cookie set for the first request is not stored, nor handed to whoever repeats it.
    assert "thing=" in first.headers.get("set-cookie", "")
    assert "thing=" not in second.headers.get("set-cookie", "")


def test_the_same_key_with_another_body_is_refused(client, make):
    admin = make.login(Role.ADMIN)
    assert _create(client, admin.headers, "k-2").status_code == 201
    reused = _create(client, admin.headers, "k-2", email="other@example.com")
    assert reused.status_code == 422
    assert reused.headers["content-type"].startswith("application/problem+json")


def test_keys_are_scoped_to_the_caller(client, make):
    first, second = make.login(Role.ADMIN), make.login(Role.ADMIN)
    assert _create(client, first.headers, "shared", email="a1@example.com").status_code == 201
    assert _create(client, second.headers, "shared", email="a2@example.com").status_code == 201


def test_errors_are_replayed_too(client, make, db):
    admin = make.login(Role.ADMIN)
    assert _create(client, admin.headers, "k-0", email="taken@example.com").status_code == 201
    refused = _create(client, admin.headers, "k-3", email="taken@example.com")
    assert refused.status_code == 409  # the service's answer: the address is in use
    # The address is freed: run again, the same request would now create a user.
    db.execute(
        update(User).where(User.email == "taken@example.com").values(email="moved@example.com")
    )
    db.commit()

    again = _create(client, admin.headers, "k-3", email="taken@example.com")

    assert again.status_code == 409
    assert again.json() == refused.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"].startswith("application/problem+json")
    assert db.scalar(select(func.count()).where(User.email == "taken@example.com")) == 0


def test_oversized_bodies_are_refused(client, make):
    admin = make.login(Role.ADMIN)
    response = client.post(
        "/api/v1/users",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={**admin.headers, "Idempotency-Key": "big", "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_unauthenticated_calls_store_nothing(client, make, sessions, db):
    for n in range(100):
        response = client.post(
            "/api/v1/partners",
            json=FIRM,
            headers={"Authorization": "Bearer not-a-key", "Idempotency-Key": f"flood-{n}"},
        )
        assert response.status_code == 401
    # A signed-in browser session without its CSRF token is not the session's owner either.
    user = web_user(sessions, Role.ADMIN)
    assert sign_in(client, user.email, user.password).status_code == 303
    refused = client.post("/api/v1/partners", json=FIRM, headers={"Idempotency-Key": "csrf"})
    assert refused.status_code == 403
    assert _records(db) == 0


def test_a_revoked_key_is_refused_not_answered_from_its_records(client, make, system):
    admin = make.login(Role.ADMIN)
    assert _create(client, admin.headers, "before-revocation").status_code == 201
    with make.sessions() as db, db.begin():
        accounts.revoke_api_key(db, system, key_id=admin.principal.id)

    again = _create(client, admin.headers, "before-revocation")

    assert again.status_code == 401
    assert "idempotent-replayed" not in again.headers


def test_a_refusal_for_want_of_a_permission_is_not_kept(client, make, db):
    auditor = make.login(Role.AUDITOR)
    headers = {**auditor.headers, "Idempotency-Key": "firm-1"}
    assert client.post("/api/v1/partners", json=FIRM, headers=headers).status_code == 403
    assert _records(db) == 0
    db.execute(
        update(User).where(User.id == auditor.user.id).values(role=Role.PROGRAM_MANAGER.value)
    )
    db.execute(
        update(ApiKey)
        .where(ApiKey.id == auditor.principal.id)
        .values(scopes=[Permission.PARTNERS_WRITE.value])
    )
    db.commit()

    granted = client.post("/api/v1/partners", json=FIRM, headers=headers)

    assert granted.status_code == 201
    assert "idempotent-replayed" not in granted.headers


def test_anonymous_calls_are_not_scoped_to_one_shared_caller(client, sessions, db):
    user = web_user(sessions, Role.ADMIN)

    def sign_in_with_key(password: str):
        token = csrf_from(client.get("/login").text)
        return client.post(
            "/login",
            data={"email": user.email, "password": password, "csrf": token},
            headers={"Idempotency-Key": "same"},
            follow_redirects=False,
        )

    signed_in = sign_in_with_key(user.password)
    client.cookies.clear()  # another visitor, with the same key
    failed = sign_in_with_key("a wrong password")

    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/dashboard"
    assert failed.status_code == 401
    assert "idempotent-replayed" not in failed.headers
    assert _records(db) == 0


def test_an_abandoned_claim_stops_blocking_retries(client, make, things, db, frozen_clock):
    admin = make.login(Role.ADMIN)
    headers = {**admin.headers, "Idempotency-Key": "abandoned"}
    assert client.post("/api/v1/things", json={}, headers=headers).json() == {"run": 1}
    # As a process that died after claiming the key would leave it: claimed, never answered.
    db.execute(update(IdempotencyRecord).values(status_code=None, response_body=None))
    db.commit()

    waited = client.post("/api/v1/things", json={}, headers=headers)
    assert waited.status_code == 409  # it may still be running: not run twice
    frozen_clock.advance(timedelta(seconds=61))
    retried = client.post("/api/v1/things", json={}, headers=headers)
    repeated = client.post("/api/v1/things", json={}, headers=headers)

    assert retried.status_code == 201
    assert retried.json() == {"run": 2}
    assert repeated.json() == {"run": 2}
    assert repeated.headers["idempotent-replayed"] == "true"


def test_records_are_replayed_for_their_lifetime_only(client, make, things, frozen_clock):
    admin = make.login(Role.ADMIN)
    headers = {**admin.headers, "Idempotency-Key": "day-old"}
    assert client.post("/api/v1/things", json={}, headers=headers).json() == {"run": 1}
    frozen_clock.advance(timedelta(hours=23))
    assert client.post("/api/v1/things", json={}, headers=headers).json() == {"run": 1}
    frozen_clock.advance(timedelta(hours=2))
    later = client.post("/api/v1/things", json={}, headers=headers)
    assert later.status_code == 201
    assert later.json() == {"run": 2}
    assert "idempotent-replayed" not in later.headers


def test_the_worker_prunes_records_past_their_lifetime(
    client, make, things, sessions, db, frozen_clock
):
    admin = make.login(Role.ADMIN)
    for key in ("old-1", "old-2"):
        client.post("/api/v1/things", json={}, headers={**admin.headers, "Idempotency-Key": key})
    frozen_clock.advance(timedelta(hours=20))
    client.post("/api/v1/things", json={}, headers={**admin.headers, "Idempotency-Key": "recent"})
    frozen_clock.advance(timedelta(hours=5))

    run_until_idle(sessions)

    db.expire_all()
    assert set(db.scalars(select(IdempotencyRecord.key))) == {"recent"}


def test_a_secret_shown_once_is_kept_sealed_and_replayed_whole(client, make, db):
    admin = make.login(Role.ADMIN)
    headers = {**admin.headers, "Idempotency-Key": "new-key-1"}
    first = client.post("/api/v1/api-keys", headers=headers, json={"name": "deploy"})
    assert first.status_code == 201, first.text
    token = first.json()["token"]

    stored = db.scalars(select(IdempotencyRecord.response_body)).all()
    db.rollback()
    assert len(stored) == 1
    assert token not in stored[0]
    assert token.split(".")[-1] not in stored[0]

    again = client.post("/api/v1/api-keys", headers=headers, json={"name": "deploy"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["token"] == token


def test_a_sealed_answer_cannot_be_moved_to_another_record(client, make, db):
    admin = make.login(Role.ADMIN)
    for key in ("move-1", "move-2"):
        response = client.post(
            "/api/v1/api-keys",
            headers={**admin.headers, "Idempotency-Key": key},
            json={"name": key},
        )
        assert response.status_code == 201
    first, second = db.scalars(select(IdempotencyRecord).order_by(IdempotencyRecord.id)).all()
    db.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == second.id)
        .values(response_body=first.response_body)
    )
    db.commit()

    replay = client.post(
        "/api/v1/api-keys",
        headers={**admin.headers, "Idempotency-Key": "move-2"},
        json={"name": "move-2"},
    )
    # The moved copy does not open under the other record: no answer of another request.
    assert replay.status_code == 500
