"""Credentials issued by Charter's services, checked by Digital Bazaar's verifier with status.

The credential comes from ``issue_award`` and its revocation list from ``GET /status/{id}``,
handed to the offline Node verifier as a document. A revoked credential still has
``verified: true`` there; the revocation shows in its status results, which is what we read.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.app import create_app
from charter.config import Settings
from charter.credentials import issuance, service
from charter.crypto import dids, keyring
from tests.credentials.factories import award
from tests.interop.conftest import node_verify
from tests.partners.factories import partner, person
from tests.programs.factories import certification


def _issue(sessions, system, settings: Settings) -> tuple[str, dict[str, Any]]:
    with sessions() as db, db.begin():
        db.info["settings"] = settings
        firm = partner(db, system)
        holder = person(db, system, partner_id=firm.id)
        cert = certification(db, system)
        awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
        credential = issuance.current_credential_for_award(db, awarded.id)
        assert credential is not None
        return awarded.id, credential.document


def _status_documents(client: TestClient, credential: dict[str, Any]) -> dict[str, Any]:
    url = credential["credentialStatus"]["statusListCredential"]
    response = client.get("/status/" + url.rsplit("/", 1)[1])
    assert response.status_code == 200
    return {url: response.json()}


def _verify(credential: dict[str, Any], documents: dict[str, Any]) -> dict[str, Any]:
    return node_verify(
        {"credential": credential, "purpose": "vc", "checkStatus": True, "documents": documents}
    )


def _did_web_documents(sessions, settings: Settings) -> dict[str, Any]:
    with sessions() as db:
        did_document = keyring.did_document(db, settings)
    documents: dict[str, Any] = {did_document["id"]: did_document}
    for method in did_document["verificationMethod"]:
        documents[method["id"]] = {"@context": dids.MULTIKEY_V1_CONTEXT, **method}
    return documents


def test_an_issued_credential_verifies_and_shows_revoked_after_revoke_award(
    client, sessions, system, settings
):
    award_id, credential = _issue(sessions, system, settings)
    assert credential["issuer"]["id"].startswith("did:key:")

    before = _verify(credential, _status_documents(client, credential))
    assert before == {
        "verified": True,
        "statusResults": [{"purpose": "revocation", "status": False}],
    }

    with sessions() as db, db.begin():
        service.revoke_award(db, system, award_id=award_id, reason="exam fraud")
    after = _verify(credential, _status_documents(client, credential))
    assert after["verified"] is True  # Digital Bazaar's flag stays true for a revoked credential
    assert after["statusResults"] == [{"purpose": "revocation", "status": True}]


def test_a_suspended_credential_is_revoked_for_vcjs_and_the_reinstated_one_verifies(
    client, sessions, system, settings
):
    # One credentialStatus per badge (the OB 3.0 schema allows one): a suspension is
    # published on the revocation list, and reinstating issues a new credential.
    award_id, credential = _issue(sessions, system, settings)
    with sessions() as db, db.begin():
        service.suspend_award(db, system, award_id=award_id, reason="audit pending")
    result = _verify(credential, _status_documents(client, credential))
    assert result["statusResults"] == [{"purpose": "revocation", "status": True}]

    with sessions() as db, db.begin():
        db.info["settings"] = settings
        service.reinstate_award(db, system, award_id=award_id, reason="audit passed")
        found = issuance.current_credential_for_award(db, award_id)
        assert found is not None
        reinstated = found.document
    assert reinstated["id"] != credential["id"]
    assert reinstated["awardedDate"] == credential["awardedDate"]
    assert _verify(reinstated, _status_documents(client, reinstated)) == {
        "verified": True,
        "statusResults": [{"purpose": "revocation", "status": False}],
    }


def test_a_did_web_credential_verifies_through_the_did_document(engine, sessions, system, settings):
    web = settings.model_copy(update={"public_url": "https://badges.example.com"})
    award_id, credential = _issue(sessions, system, web)
    assert credential["issuer"]["id"] == "did:web:badges.example.com"
    with TestClient(create_app(web, engine=engine)) as client:
        documents = {**_did_web_documents(sessions, web), **_status_documents(client, credential)}
        assert _verify(credential, documents)["statusResults"] == [
            {"purpose": "revocation", "status": False}
        ]
        with sessions() as db, db.begin():
            service.revoke_award(db, system, award_id=award_id, reason="left the program")
        documents.update(_status_documents(client, credential))
        after = _verify(credential, documents)
    assert after["statusResults"] == [{"purpose": "revocation", "status": True}]


def test_a_credential_signed_before_rotation_still_verifies(
    client, sessions, system, settings, engine
):
    web = settings.model_copy(update={"public_url": "https://badges.example.com"})
    _, old = _issue(sessions, system, web)
    with sessions() as db, db.begin():
        keyring.rotate_key(db, system, web)
    _, new = _issue(sessions, system, web)
    assert old["proof"][0]["verificationMethod"] != new["proof"][0]["verificationMethod"]
    with TestClient(create_app(web, engine=engine)) as web_client:
        for credential in (old, new):
            documents = {
                **_did_web_documents(sessions, web),
                **_status_documents(web_client, credential),
            }
            result = _verify(credential, documents)
            assert result["verified"] is True, result


@pytest.mark.parametrize("field", ["name", "validUntil"])
def test_a_tampered_issued_credential_fails(client, sessions, system, settings, field):
    _, credential = _issue(sessions, system, settings)
    credential[field] = "2099-01-01T00:00:00Z" if field == "validUntil" else "Forged badge"
    result = _verify(credential, _status_documents(client, credential))
    assert result["verified"] is False


def test_a_credential_naming_the_holder_did_verifies(client, sessions, system, settings):
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    with sessions() as db, db.begin():
        db.info["settings"] = settings
        firm = partner(db, system)
        holder = person(db, system, partner_id=firm.id, did=did)
        cert = certification(db, system)
        awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
        found = issuance.current_credential_for_award(db, awarded.id)
        assert found is not None
        credential = found.document
    assert credential["credentialSubject"]["id"] == did
    result = _verify(credential, _status_documents(client, credential))
    assert result == {
        "verified": True,
        "statusResults": [{"purpose": "revocation", "status": False}],
    }
