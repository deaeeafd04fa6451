"""GET /.well-known/did.json: the issuer's keys, tagged, revalidated, and a new tag on rotation."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from charter.app import create_app
from charter.config import Settings
from charter.crypto import keyring, keys


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": "https://badges.example.com"})


@pytest.fixture
def web_client(engine, web_settings, sessions):
    with sessions() as db, db.begin():
        keyring.active_signer(db, web_settings)
    with TestClient(create_app(web_settings, engine=engine)) as client:
        yield client


def test_the_document_is_tagged_and_revalidated(web_client, sessions, web_settings):
    response = web_client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/did+json"
    assert response.headers["cache-control"] == "public, max-age=60"
    with sessions() as db:
        assert response.json() == keyring.did_document(db, web_settings)
    etag = response.headers["etag"]
    assert etag.startswith('"')
    for naming in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = web_client.get("/.well-known/did.json", headers={"If-None-Match": naming})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, max-age=60"


def test_a_rotation_gives_the_document_a_new_tag(web_client, sessions, system, web_settings):
    before = web_client.get("/.well-known/did.json")
    with sessions() as db, db.begin():
        rotated = keyring.rotate_key(db, system, web_settings)
    after = web_client.get(
        "/.well-known/did.json", headers={"If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert rotated.verification_method in after.json()["assertionMethod"]


def test_serving_the_document_opens_no_private_key(web_client, monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a private key was opened to publish public keys")

    monkeypatch.setattr(keys, "open_private_key", refuse)
    response = web_client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert len(response.json()["assertionMethod"]) == 1


def test_a_fresh_deployment_publishes_its_first_key(engine, web_settings):
    with TestClient(create_app(web_settings, engine=engine)) as client:
        response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert len(body["assertionMethod"]) == 1
