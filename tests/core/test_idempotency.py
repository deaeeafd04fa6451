"""Idempotency-Key: a repeated creating call returns the first outcome and creates nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from charter.accounts.models import User
from charter.core.auth import Role


def _create(client, headers, key, email="new.user@example.com"):
    return client.post(
        "/api/v1/users",
        json={"email": email, "display_name": "New", "role": "auditor", "password": "x" * 16},
        headers={**headers, "Idempotency-Key": key},
    )


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


def test_errors_are_replayed_too(client, make):
    admin = make.login(Role.ADMIN)
    bad = _create(client, admin.headers, "k-3", email="not-an-email")
    again = _create(client, admin.headers, "k-3", email="not-an-email")
    assert bad.status_code == again.status_code == 422


def test_oversized_bodies_are_refused(client, make):
    admin = make.login(Role.ADMIN)
    response = client.post(
        "/api/v1/users",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={**admin.headers, "Idempotency-Key": "big", "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_anonymous_calls_are_not_scoped_to_one_shared_caller(client):
    first = client.post("/api/v1/users", json={}, headers={"Idempotency-Key": "same"})
    assert first.status_code == 401
    assert "idempotent-replayed" not in first.headers
