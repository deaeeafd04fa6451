"""Every request body is bounded: a body past the bound is a 413, before any route reads it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from charter.core.auth import Role
from charter.core.bodylimit import MAX_BODY_BYTES
from tests.credentials.test_verify import badge, did_key_signer


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"url": "https://crm.example.com/h", "description": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'", "event_types": ["*"]}'


def test_a_json_body_past_the_bound_is_a_413(client, make):
    admin = make.login(Role.ADMIN)
    headers = {**admin.headers, "content-type": "application/json"}
    declared = client.post(
        "/api/v1/webhooks", content=b"".join(_chunks(2 * MAX_BODY_BYTES)), headers=headers
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"].startswith("application/problem+json")
    # Without a Content-Length (chunked), the bound is kept while the body is read.
    streamed = client.post("/api/v1/webhooks", content=_chunks(2 * MAX_BODY_BYTES), headers=headers)
    assert streamed.status_code == 413
    assert streamed.json()["status"] == 413
    small = client.post(
        "/api/v1/webhooks",
        json={"url": "https://crm.example.com/h", "event_types": ["*"]},
        headers=admin.headers,
    )
    assert small.status_code == 201, small.text


def test_an_anonymous_form_past_the_bound_is_a_413(client):
    response = client.post(
        "/login",
        content=b"email=a%40b.example&password=" + b"x" * (MAX_BODY_BYTES + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_the_verifier_keeps_its_own_larger_bound(client):
    signer = did_key_signer()
    document = signer.sign(badge(signer.did))
    document["padding"] = "x" * (2 * MAX_BODY_BYTES)
    upload = io.BytesIO(json.dumps(document).encode())
    response = client.post(
        "/api/v1/verify", files={"file": ("badge.json", upload, "application/json")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "invalid"
