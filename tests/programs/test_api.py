"""Certification, criteria, assessment and eligibility routes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.core.auth import Role
from tests.partners.factories import partner, person
from tests.programs.factories import assessment, certification

CERT = {
    "code": "CLD-201",
    "name": "Cloud Architect Professional",
    "track": "technical",
    "level": "professional",
    "description": "Designs deployments.",
    "image_url": "https://badges.example.com/cld-201.png",
    "validity_days": 730,
    "renewal_window_days": 90,
    "criteria": {
        "narrative": "Pass CLD-201 with 70% and the lab.",
        "requirements": {"assessments": [{"code": "CLD-201", "min_score": 70}], "labs": ["LAB-1"]},
    },
}


def test_create_read_update_and_retire_a_certification(client, make):
    admin = make.login(Role.PROGRAM_MANAGER).headers
    created = client.post("/api/v1/certifications", json=CERT, headers=admin)
    assert created.status_code == 201, created.text
    cert = created.json()
    assert (cert["code"], cert["track"], cert["retired_at"]) == ("CLD-201", "technical", None)
    assert client.post("/api/v1/certifications", json=CERT, headers=admin).status_code == 409

    got = client.get(f"/api/v1/certifications/{cert['id']}", headers=admin).json()
    assert got["name"] == "Cloud Architect Professional"
    patched = client.patch(
        f"/api/v1/certifications/{cert['id']}", json={"name": "Cloud Architect"}, headers=admin
    )
    assert patched.json()["name"] == "Cloud Architect"
    cleared = client.patch(
        f"/api/v1/certifications/{cert['id']}", json={"description": None}, headers=admin
    )
    assert cleared.status_code == 422
    assert cleared.json()["errors"][0]["field"] == "description"

    listed = client.get("/api/v1/certifications?track=technical", headers=admin).json()
    assert [c["id"] for c in listed["items"]] == [cert["id"]]
    assert client.get("/api/v1/certifications?track=sales", headers=admin).json()["items"] == []

    retired = client.post(f"/api/v1/certifications/{cert['id']}/retire", headers=admin)
    assert retired.json()["retired_at"] is not None
    assert (
        client.post(f"/api/v1/certifications/{cert['id']}/retire", headers=admin).status_code == 409
    )


def test_bad_certifications_get_field_errors(client, make):
    admin = make.login(Role.ADMIN).headers
    for change, field in [
        ({"renewal_window_days": 800}, "renewal_window_days"),
        ({"validity_days": 0}, "validity_days"),
        ({"extra": 1}, "extra"),
        ({"code": "x" * 65}, "code"),
        ({"criteria": {"narrative": "n", "requirements": {"customer_references": -2}}}, None),
    ]:
        response = client.post("/api/v1/certifications", json={**CERT, **change}, headers=admin)
        assert response.status_code == 422, (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = [error["field"] for error in response.json()["errors"]]
        if field:
            assert field in fields, fields


@pytest.mark.parametrize("name", ["Cloud\nArchitect", "Cloud Architect\r\n", "Cloud\x00"])
def test_a_line_break_in_a_name_is_refused_as_in_a_partner_name(client, make, name):
    admin = make.login(Role.ADMIN).headers
    firm = {"name": name, "type": "var", "regions": ["na"], "country": "US"}
    refused_firm = client.post("/api/v1/partners", json=firm, headers=admin)
    refused = client.post("/api/v1/certifications", json={**CERT, "name": name}, headers=admin)
    for response in (refused_firm, refused):
        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["name"]
    assert client.get("/api/v1/certifications", headers=admin).json()["items"] == []

    cert = client.post("/api/v1/certifications", json=CERT, headers=admin).json()
    renamed = client.patch(
        f"/api/v1/certifications/{cert['id']}", json={"name": name}, headers=admin
    )
    assert renamed.status_code == 422
    assert [error["field"] for error in renamed.json()["errors"]] == ["name"]
    got = client.get(f"/api/v1/certifications/{cert['id']}", headers=admin).json()
    assert got["name"] == CERT["name"]


def test_unknown_and_malformed_ids_are_404(client, make):
    admin = make.login(Role.ADMIN).headers
    for path in [
        "/api/v1/certifications/crt_nope",
        "/api/v1/assessments/%00",
        "/api/v1/certifications/crt_01ARZ3NDEKTSV4RRFFQ69G5FAV/criteria",
    ]:
        response = client.get(path, headers=admin)
        assert response.status_code == 404, (path, response.text)


def test_publish_and_list_criteria_versions(client, make, db, system, frozen_clock):
    cert = certification(db, system)
    db.commit()
    admin = make.login(Role.ADMIN).headers
    later = (frozen_clock.now() + timedelta(days=30)).isoformat()
    response = client.post(
        f"/api/v1/certifications/{cert.id}/criteria",
        json={
            "narrative": "Harder.",
            "requirements": {"trainings": ["TR-1"]},
            "effective_from": later,
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    assert (response.json()["version"], response.json()["in_force"]) == (2, False)
    versions = client.get(f"/api/v1/certifications/{cert.id}/criteria", headers=admin).json()
    assert [(v["version"], v["in_force"]) for v in versions] == [(1, True), (2, False)]

    earlier = (frozen_clock.now() - timedelta(days=1)).isoformat()
    refused = client.post(
        f"/api/v1/certifications/{cert.id}/criteria",
        json={"narrative": "Backdated.", "effective_from": earlier},
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "effective_from"
    naive = client.post(
        f"/api/v1/certifications/{cert.id}/criteria",
        json={"narrative": "No zone.", "effective_from": "2027-01-01T00:00:00"},
        headers=admin,
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "effective_from"


def test_record_and_read_assessments(client, make, db, system, frozen_clock):
    mine, theirs = partner(db, system), partner(db, system)
    colleague = person(db, system, partner_id=mine.id)
    stranger = person(db, system, partner_id=theirs.id)
    other = assessment(db, system, person_id=stranger.id)
    db.commit()
    manager = make.login(Role.PROGRAM_MANAGER).headers
    body = {
        "person_id": colleague.id,
        "kind": "exam",
        "code": "CLD-201",
        "score": 81,
        "passed": True,
        "assessor": "Pearson VUE",
        "occurred_at": (frozen_clock.now() - timedelta(hours=2)).isoformat(),
        "evidence_sha256": "0" * 64,
        "external_id": "vue-1001",
    }
    created = client.post("/api/v1/assessments", json=body, headers=manager)
    assert created.status_code == 201, created.text
    assert client.post("/api/v1/assessments", json=body, headers=manager).status_code == 409
    bad = client.post(
        "/api/v1/assessments",
        json={**body, "external_id": None, "evidence_sha256": "xyz"},
        headers=manager,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "evidence_sha256"

    member = make.login(Role.PARTNER_MEMBER, partner_id=mine.id).headers
    listed = client.get("/api/v1/assessments", headers=member).json()
    assert [a["id"] for a in listed["items"]] == [created.json()["id"]]
    assert client.get(f"/api/v1/assessments/{other.id}", headers=member).status_code == 404
    assert (
        client.post(
            "/api/v1/assessments", json={**body, "external_id": "x"}, headers=member
        ).status_code
        == 403
    )
    by_kind = client.get("/api/v1/assessments?kind=lab", headers=manager).json()
    assert by_kind["items"] == []
