"""The keyring: first key, did:key and did:web issuers, rotation, sealing, the DID document."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from charter.app import create_app
from charter.config import Settings, get_settings
from charter.core.auth import Role
from charter.core.errors import Forbidden, NotFound
from charter.core.models import Event
from charter.credentials import issuance, proofs
from charter.crypto import dids, keyring, keys
from charter.crypto.keys import KeyringError
from charter.crypto.models import SigningKey
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": "https://badges.example.com"})


def issued_document(db, system, settings: Settings) -> dict:
    db.info["settings"] = settings
    firm = partner(db, system)
    holder = person(db, system, partner_id=firm.id)
    cert = certification(db, system)
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    credential = issuance.current_credential_for_award(db, awarded.id)
    assert credential is not None
    return credential.document


def test_the_first_key_is_a_did_key_made_on_first_use_and_then_reused(db, settings):
    assert keyring.list_keys(db) == []
    first = keyring.active_signer(db, settings)
    again = keyring.active_signer(db, settings)
    assert first.key_id == again.key_id
    assert first.controller.startswith("did:key:z6Mk")
    assert first.verification_method == dids.did_key_verification_method(first.controller)
    # The did:key resolves offline to the key that signs.
    assert keys.raw_public_key(dids.resolve_did_key(first.verification_method)) == (
        keys.raw_public_key(first.private_key.public_key())
    )
    assert [key.key_id for key in keyring.list_keys(db)] == [first.key_id]


def test_with_an_https_public_url_the_issuer_is_the_did_web_of_it(db, web_settings):
    signer = keyring.active_signer(db, web_settings)
    assert signer.controller == "did:web:badges.example.com"
    assert signer.verification_method == f"did:web:badges.example.com#{signer.key_id}"


def test_changing_the_public_url_to_https_moves_signing_to_a_did_web_key(
    db, settings, web_settings
):
    old = keyring.active_signer(db, settings)
    new = keyring.active_signer(db, web_settings)
    assert new.controller == "did:web:badges.example.com"
    assert new.key_id != old.key_id
    # The old did:key stays known, so what it signed keeps verifying.
    assert keyring.public_key_for(db, old.verification_method) is not None


def test_rotation_keeps_old_credentials_verifying_and_signs_new_ones_with_the_new_key(
    db, system, settings
):
    before = issued_document(db, system, settings)
    old_method = before["proof"][0]["verificationMethod"]
    rotated = keyring.rotate_key(db, system, settings)
    after = issued_document(db, system, settings)

    assert rotated.verification_method != old_method
    assert after["proof"][0]["verificationMethod"] == rotated.verification_method
    assert after["issuer"]["id"] == rotated.controller
    old_key = keyring.public_key_for(db, old_method)
    new_key = keyring.public_key_for(db, rotated.verification_method)
    assert old_key is not None
    assert new_key is not None
    assert proofs.verify_proof(before, old_key)
    assert proofs.verify_proof(after, new_key)
    assert not proofs.verify_proof(before, new_key)
    states = {key.verification_method: key.active for key in keyring.list_keys(db)}
    assert states == {old_method: False, rotated.verification_method: True}
    rotation = db.scalar(select(Event).where(Event.type == "signing_key.rotated"))
    assert rotation is not None
    assert rotation.payload["previous_verification_method"] == old_method


def test_an_unknown_verification_method_has_no_key(db, settings):
    keyring.active_signer(db, settings)
    assert keyring.public_key_for(db, "did:web:elsewhere.example#sgk_x") is None


def test_only_an_admin_may_rotate_keys(db, settings, make):
    manager = make.login(Role.PROGRAM_MANAGER).principal
    admin = make.login(Role.ADMIN).principal
    first = keyring.active_signer(db, settings)
    with pytest.raises(Forbidden):
        keyring.rotate_key(db, manager, settings)
    assert keyring.active_signer(db, settings).key_id == first.key_id
    assert keyring.rotate_key(db, admin, settings).active


def test_the_did_web_document_lists_current_and_retired_keys(db, system, web_settings):
    first = keyring.active_signer(db, web_settings)
    second = keyring.rotate_key(db, system, web_settings)
    document = keyring.did_document(db, web_settings)
    assert document["id"] == "did:web:badges.example.com"
    assert document["assertionMethod"] == [first.verification_method, second.verification_method]
    listed = {method["id"]: method for method in document["verificationMethod"]}
    assert listed[second.verification_method]["publicKeyMultibase"] == (second.public_key_multibase)
    assert all(method["controller"] == document["id"] for method in listed.values())


def test_did_json_is_served_for_a_did_web_issuer(engine, web_settings, system, sessions):
    with sessions() as db, db.begin():
        keyring.active_signer(db, web_settings)
        keyring.rotate_key(db, system, web_settings)
    from fastapi.testclient import TestClient

    with TestClient(create_app(web_settings, engine=engine)) as client:
        response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/did+json")
    body = response.json()
    assert body["id"] == "did:web:badges.example.com"
    assert len(body["assertionMethod"]) == 2
    assert "sealed" not in response.text
    assert "secret" not in response.text.lower()


def test_did_json_is_not_found_for_a_did_key_issuer(client):
    response = client.get("/.well-known/did.json")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_sealed_key_is_not_the_seed_and_a_wrong_secret_cannot_open_it(db, settings):
    signer = keyring.active_signer(db, settings)
    db.flush()
    row = db.get(SigningKey, signer.key_id)
    seed = keys.raw_seed(signer.private_key)
    assert seed not in row.sealed_private_key
    assert keys.secret_key_multibase(signer.private_key).encode() not in row.sealed_private_key
    wrong = settings.model_copy(update={"secret_key": "another-deployment-secret"})
    with pytest.raises(KeyringError):
        keyring.active_signer(db, wrong)
    with pytest.raises(KeyringError):
        keys.open_private_key(row.sealed_private_key, keys.derive_kek("guess"), row.id)


def test_the_private_key_never_appears_in_events_or_listings(db, system, settings):
    signer = keyring.active_signer(db, settings)
    keyring.rotate_key(db, system, settings)
    db.flush()
    secrets = {
        keys.raw_seed(signer.private_key).hex(),
        keys.secret_key_multibase(signer.private_key),
    }
    payloads = json.dumps([event.payload for event in db.scalars(select(Event))])
    listings = repr(keyring.list_keys(db)) + repr(signer)
    for secret in secrets:
        assert secret not in payloads
        assert secret not in listings


def test_the_did_web_document_needs_a_did_web_issuer(db, settings):
    with pytest.raises(NotFound):
        keyring.did_document(db, settings)


def test_cli_lists_and_rotates_keys(engine, database_url, monkeypatch, tmp_path, make, db):
    from charter.cli.main import app

    operator = make.login(Role.ADMIN).user
    monkeypatch.setenv("CHARTER_OPERATOR", operator.email)
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CHARTER_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(app, ["keys", "list"])
        assert listed.exit_code == 0, listed.output
        assert "active" in listed.output
        assert "did:key:z6Mk" in listed.output
        rotated = runner.invoke(app, ["keys", "rotate"])
        assert rotated.exit_code == 0, rotated.output
        assert rotated.output.startswith("new signing key sgk_")
        again = runner.invoke(app, ["keys", "list"])
        assert "retired" in again.output
        assert again.output.count("did:key:z6Mk") == 2
        rotation = db.scalar(
            select(Event).where(Event.type == "signing_key.rotated").order_by(Event.seq.desc())
        )
        assert rotation is not None
        assert (rotation.actor_type, rotation.actor_id) == ("user", operator.id)
    finally:
        get_settings.cache_clear()


def test_a_did_web_with_a_path_is_served_at_did_json(engine, settings):
    from fastapi.testclient import TestClient

    pathed = settings.model_copy(update={"public_url": "https://example.com/partners"})
    with TestClient(create_app(pathed, engine=engine)) as client:
        assert client.get("/.well-known/did.json").status_code == 404
        response = client.get("/did.json")
    assert response.status_code == 200
    assert response.json()["id"] == "did:web:example.com:partners"


def test_cli_rotates_and_prunes_token_keys_as_its_operator(
    engine, database_url, monkeypatch, tmp_path, make, db, frozen_clock
):
    from charter.cli.main import app
    from charter.crypto.models import KeyPurpose

    operator = make.login(Role.ADMIN).user
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CHARTER_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        monkeypatch.delenv("CHARTER_OPERATOR", raising=False)
        anonymous = runner.invoke(app, ["keys", "rotate", "--purpose", "token"])
        assert anonymous.exit_code != 0
        assert "charter --as EMAIL" in anonymous.output
        monkeypatch.setenv("CHARTER_OPERATOR", operator.email)
        first = runner.invoke(app, ["keys", "rotate", "--purpose", "token"])
        assert first.exit_code == 0, first.output
        assert first.output.startswith("new token signing key sgk_")
        second = runner.invoke(app, ["keys", "rotate", "--purpose", "token"])
        assert second.exit_code == 0, second.output
        listed = runner.invoke(app, ["keys", "list"]).output.splitlines()
        # The first token key is retired, not gone; the credential key is untouched.
        assert sorted(line.split()[1:3] for line in listed) == [
            ["credential", "active"],
            ["token", "active"],
            ["token", "retired"],
        ]
        assert runner.invoke(app, ["keys", "prune"]).output.startswith("no retired token key")
        frozen_clock.advance(keyring.token_key_window(get_settings()))
        pruned = runner.invoke(app, ["keys", "prune"])
        assert pruned.exit_code == 0, pruned.output
        assert pruned.output.startswith("dropped token key ")
        assert sorted(key.purpose for key in keyring.list_keys(db)) == [
            KeyPurpose.CREDENTIAL,
            KeyPurpose.TOKEN,
        ]
        events = [
            event
            for event in db.scalars(select(Event).order_by(Event.seq))
            if event.type in {"signing_key.rotated", "signing_key.dropped"}
        ]
        assert [event.type for event in events] == ["signing_key.rotated"] * 2 + [
            "signing_key.dropped"
        ]
        assert {(event.actor_type, event.actor_id) for event in events} == {("user", operator.id)}
        assert events[0].payload["purpose"] == "token"
    finally:
        get_settings.cache_clear()
