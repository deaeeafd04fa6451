"""Issuing awards in a batch over the API: all or none, each with its signed credential."""

from __future__ import annotations

from sqlalchemy import func, select

from charter.core.auth import Principal, Role
from charter.credentials import issuance
from charter.credentials.models import Award
from tests.partners.factories import partner, person
from tests.programs.factories import certification, passing_evidence


def _eligible(sessions, count):
    system = Principal.system("tests")
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        cert = certification(db, system)
        people = []
        for _ in range(count):
            holder = person(db, system, partner_id=firm.id)
            passing_evidence(db, system, person_id=holder.id, certification_id=cert.id)
            people.append(holder.id)
        stranger = person(db, system, partner_id=firm.id).id  # no evidence
        return cert.id, people, stranger


def test_a_batch_issues_every_award_with_its_credential(client, make, sessions, db):
    cert, people, _ = _eligible(sessions, 3)
    pm = make.login(Role.PROGRAM_MANAGER)
    body = {"items": [{"person_id": p, "certification_id": cert} for p in people]}

    response = client.post("/api/v1/awards/batch", json=body, headers=pm.headers)

    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [item["person_id"] for item in items] == people
    for item in items:
        assert issuance.current_credential_for_award(db, item["id"]) is not None


def test_one_bad_item_writes_nothing_and_names_it(client, make, sessions, db):
    cert, people, stranger = _eligible(sessions, 2)
    pm = make.login(Role.PROGRAM_MANAGER)
    body = {
        "items": [
            {"person_id": people[0], "certification_id": cert},
            {"person_id": stranger, "certification_id": cert},
            {"person_id": "per_unknown", "certification_id": cert},
        ]
    }

    response = client.post("/api/v1/awards/batch", json=body, headers=pm.headers)

    assert response.status_code == 422
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["items.1", "items.2"]
    assert db.scalar(select(func.count()).select_from(Award)) == 0
