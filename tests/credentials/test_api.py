"""Award routes: issue, list with filters, read, status changes, renewal."""

from __future__ import annotations

from datetime import timedelta

from charter.core.auth import Role
from charter.credentials import issuance
from tests.codes import Region
from tests.credentials.factories import award, many_awards
from tests.partners.factories import partner, person
from tests.programs.factories import certification, passing_evidence


def test_issue_award_through_the_api(client, make, db, system, frozen_clock):
    cert = certification(db, system, validity_days=365)
    firm = partner(db, system)
    someone = person(db, system, partner_id=firm.id)
    db.commit()
    manager = make.login(Role.PROGRAM_MANAGER).headers
    body = {"person_id": someone.id, "certification_id": cert.id}
    refused = client.post("/api/v1/awards", json=body, headers=manager)
    assert refused.status_code == 422
    assert refused.json()["type"] == "/problems/criteria-not-met"
    assert refused.json()["unmet"] == [f"exam EXAM-{cert.code} not taken"]

    passing_evidence(db, system, person_id=someone.id, certification_id=cert.id)
    db.commit()
    issued = client.post("/api/v1/awards", json={**body, "external_id": "crm-7"}, headers=manager)
    assert issued.status_code == 201, issued.text
    out = issued.json()
    assert (out["status"], out["partner_id"], out["external_id"]) == ("active", firm.id, "crm-7")
    assert client.post("/api/v1/awards", json=body, headers=manager).status_code == 409


def test_override_only_by_an_admin(client, make, db, system):
    cert = certification(db, system)
    someone = person(db, system, partner_id=None)
    db.commit()
    body = {"person_id": someone.id, "certification_id": cert.id, "override_reason": "pilot"}
    manager = make.login(Role.PROGRAM_MANAGER).headers
    assert client.post("/api/v1/awards", json=body, headers=manager).status_code == 403
    admin = make.login(Role.ADMIN).headers
    blank = client.post("/api/v1/awards", json={**body, "override_reason": " "}, headers=admin)
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["field"] == "override_reason"
    issued = client.post("/api/v1/awards", json=body, headers=admin)
    assert issued.status_code == 201
    assert issued.json()["override_reason"] == "pilot"


def test_status_transitions_over_the_api(client, make, db, system, frozen_clock):
    cert = certification(db, system, validity_days=365, renewal_window_days=30)
    someone = person(db, system, partner_id=None)
    issued = award(db, system, person_id=someone.id, certification_id=cert.id)
    db.commit()
    admin = make.login(Role.ADMIN).headers
    base = f"/api/v1/awards/{issued.id}"
    assert client.post(f"{base}/suspend", json={"reason": ""}, headers=admin).status_code == 422
    assert client.post(f"{base}/suspend", json={}, headers=admin).status_code == 422
    suspended = client.post(f"{base}/suspend", json={"reason": "audit"}, headers=admin)
    assert suspended.json()["status"] == "suspended"
    assert client.post(f"{base}/renew", headers=admin).status_code == 409
    assert client.post(f"{base}/reinstate", headers=admin).json()["status"] == "active"
    early = client.post(f"{base}/renew", headers=admin)
    assert early.status_code == 409
    assert "renewal opens on" in early.json()["detail"]
    frozen_clock.advance(timedelta(days=340))
    renewed = client.post(f"{base}/renew", json={}, headers=admin)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["renewal_count"] == 1
    revoked = client.post(f"{base}/revoke", json={"reason": "fraud"}, headers=admin)
    assert (revoked.json()["status"], revoked.json()["status_reason"]) == ("revoked", "fraud")
    assert client.post(f"{base}/revoke", json={"reason": "again"}, headers=admin).status_code == 409


def test_effective_expiry_and_filters(client, make, db, system, frozen_clock):
    emea = partner(db, system, regions=[Region.EMEA])
    someone = person(db, system, partner_id=emea.id)
    short = certification(db, system, validity_days=30, renewal_window_days=10)
    long = certification(db, system, validity_days=365)
    a_short = award(db, system, person_id=someone.id, certification_id=short.id)
    a_long = award(db, system, person_id=someone.id, certification_id=long.id)
    db.commit()
    admin = make.login(Role.AUDITOR).headers

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/v1/awards?{query}", headers=admin)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert ids("expiring_before=2026-04-01") == [a_short.id]
    assert ids("region=emea&status=active") == [a_short.id, a_long.id]
    assert ids("region=apac") == []
    frozen_clock.advance(timedelta(days=31))
    assert ids("status=active") == [a_long.id]
    assert ids("status=expired") == [a_short.id]
    assert client.get(f"/api/v1/awards/{a_short.id}", headers=admin).json()["status"] == "expired"

    bad = client.get("/api/v1/awards?expiring_before=next-tuesday", headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "expiring_before"
    assert client.get("/api/v1/awards?status=shiny", headers=admin).status_code == 422
    assert client.get("/api/v1/awards?cursor=bm9wZQ", headers=admin).status_code == 422


def test_another_firms_award_is_not_found(client, make, db, system):
    cert = certification(db, system)
    mine, theirs = partner(db, system), partner(db, system)
    own = award(
        db, system, person_id=person(db, system, partner_id=mine.id).id, certification_id=cert.id
    )
    other = award(
        db, system, person_id=person(db, system, partner_id=theirs.id).id, certification_id=cert.id
    )
    db.commit()
    member = make.login(Role.PARTNER_ADMIN, partner_id=mine.id).headers
    assert client.get(f"/api/v1/awards/{other.id}", headers=member).status_code == 404
    assert client.get(f"/api/v1/awards/{own.id}", headers=member).status_code == 200
    listed = client.get(f"/api/v1/awards?partner_id={theirs.id}", headers=member).json()
    assert listed["items"] == []
    assert (
        client.post(
            f"/api/v1/awards/{own.id}/revoke", json={"reason": "x"}, headers=member
        ).status_code
        == 403
    )


def test_a_holder_did_set_through_the_people_api_names_the_subject(client, make, db, system):
    cert = certification(db, system)
    firm = partner(db, system)
    db.commit()
    manager = make.login(Role.PROGRAM_MANAGER).headers
    body = {
        "given_name": "Ada",
        "family_name": "Byron",
        "track": "technical",
        "partner_id": firm.id,
        "emails": ["ada.did@example.com"],
    }
    refused = client.post(
        "/api/v1/people", json={**body, "did": "did:example:ada"}, headers=manager
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "did"
    did = "did:web:ada.example"
    created = client.post("/api/v1/people", json={**body, "did": did}, headers=manager)
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    assert created.json()["did"] == did

    bad = client.patch(f"/api/v1/people/{person_id}", json={"did": "did:key:nope"}, headers=manager)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "did"
    key_did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    patched = client.patch(f"/api/v1/people/{person_id}", json={"did": key_did}, headers=manager)
    assert patched.status_code == 200, patched.text
    assert patched.json()["did"] == key_did

    passing_evidence(db, system, person_id=person_id, certification_id=cert.id)
    db.commit()
    issued = client.post(
        "/api/v1/awards",
        json={"person_id": person_id, "certification_id": cert.id},
        headers=manager,
    )
    assert issued.status_code == 201, issued.text
    credential = issuance.current_credential_for_award(db, issued.json()["id"])
    assert credential is not None
    assert credential.document["credentialSubject"]["id"] == key_did
    db.rollback()  # end the read: on SQLite every transaction holds the write lock

    cleared = client.patch(f"/api/v1/people/{person_id}", json={"did": None}, headers=manager)
    assert cleared.status_code == 200
    assert cleared.json()["did"] is None


def test_awards_carry_their_credential_and_its_public_url(
    client, make, db, system, frozen_clock, settings
):
    cert = certification(db, system, validity_days=365, renewal_window_days=30)
    firm = partner(db, system)
    someone = person(db, system, partner_id=firm.id)
    passing_evidence(db, system, person_id=someone.id, certification_id=cert.id)
    db.commit()
    admin = make.login(Role.ADMIN).headers
    body = {"person_id": someone.id, "certification_id": cert.id}
    issued = client.post("/api/v1/awards", json=body, headers=admin).json()
    credential = issuance.current_credential_for_award(db, issued["id"])
    db.rollback()
    assert credential is not None
    assert issued["credential_id"] == credential.id
    url = f"{settings.public_url}/credentials/{credential.id}"
    assert issued["credential_url"] == url
    # The URL is the credential's own: its page, and the signed document it names as its id.
    path = url.removeprefix(settings.public_url)
    document = client.get(path, headers={"Accept": "application/vc+ld+json"}).json()
    assert document["id"] == url
    assert client.get(path).status_code == 200

    award_path = f"/api/v1/awards/{issued['id']}"
    assert client.get(award_path, headers=admin).json()["credential_url"] == url
    listed = client.get("/api/v1/awards", headers=admin).json()["items"]
    assert [(a["id"], a["credential_id"]) for a in listed] == [(issued["id"], credential.id)]

    # A renewal signs a new credential: the award points at it from then on.
    frozen_clock.advance(timedelta(days=340))
    renewed = client.post(f"{award_path}/renew", json={}, headers=admin).json()
    assert renewed["credential_id"] not in (None, credential.id)
    assert (
        renewed["credential_url"] == f"{settings.public_url}/credentials/{renewed['credential_id']}"
    )
    listed = client.get("/api/v1/awards", headers=admin).json()["items"]
    assert listed[0]["credential_id"] == renewed["credential_id"]
    # Revoked, it still names its (now revoked) credential, which says so when verified.
    revoked = client.post(f"{award_path}/revoke", json={"reason": "fraud"}, headers=admin).json()
    assert revoked["credential_id"] == renewed["credential_id"]
    # The old fields are all still there.
    assert {"status", "valid_until", "renewal_count", "status_reason"} <= set(revoked)


def test_an_award_inserted_without_a_credential_has_none(client, make, db, system):
    (inserted,) = many_awards(db, system, 1)
    db.commit()
    auditor = make.login(Role.AUDITOR).headers
    out = client.get(f"/api/v1/awards/{inserted.id}", headers=auditor).json()
    assert (out["credential_id"], out["credential_url"]) == (None, None)
