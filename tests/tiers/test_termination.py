"""Terminating a firm: badges revoked, users and keys disabled, people keep their credentials."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from charter.accounts import service as accounts
from charter.core.auth import Role
from charter.core.errors import Conflict, Unauthorized
from charter.core.models import Event
from charter.credentials import issuance
from charter.tiers import flows, service, termination
from charter.tiers.models import FirmTier, TierBadge
from charter.web.public import verify_own
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import scheme


@pytest.fixture
def certified_firm(db, system, frozen_clock):
    firm = partner(db, system, status="active")
    cert = certification(db, system, track=Track.TECHNICAL)
    engineers = [person(db, system, partner_id=firm.id) for _ in range(2)]
    held = [award(db, system, person_id=p.id, certification_id=cert.id) for p in engineers]
    scheme(db, system)
    service.evaluate_firm(db, system, partner_id=firm.id)
    db.commit()
    return firm, engineers, held


@pytest.mark.parametrize("how", ["terminate", "status"])
def test_terminating_a_firm_disables_access_and_revokes_firm_badges_only(
    how, client, db, system, make, settings, certified_firm
):
    firm, engineers, held = certified_firm
    firm_id = firm.id
    engineer_ids = {p.id for p in engineers}
    held_ids = [a.id for a in held]
    badge_id = db.get(FirmTier, (firm_id, "default")).badge_id
    db.rollback()  # end the read: SQLite lets one writer at a time
    admin = make.login(Role.PARTNER_ADMIN, partner_id=firm_id)
    member = make.login(Role.PARTNER_MEMBER, partner_id=firm_id)
    manager = make.login(Role.PROGRAM_MANAGER)
    assert client.get(f"/api/v1/partners/{firm_id}", headers=admin.headers).status_code == 200

    if how == "terminate":
        response = client.post(
            f"/api/v1/partners/{firm_id}/terminate",
            json={"reason": "breach of the partner agreement"},
            headers=manager.headers,
        )
        assert response.status_code == 200, response.text
        report = response.json()
    else:
        response = client.post(
            f"/api/v1/partners/{firm_id}/status",
            json={"status": "terminated", "reason": "breach of the partner agreement"},
            headers=manager.headers,
        )
        assert response.status_code == 200, response.text
        report = termination.get_report(db, system, partner_id=firm_id).model_dump(mode="json")
        db.rollback()

    assert report["reason"] == "breach of the partner agreement"
    assert report["licenses_wind_down"] is True
    assert report["firm_credentials_revoked"] == [badge_id]
    assert set(report["users_disabled"]) == {admin.user.id, member.user.id}
    assert len(report["api_keys_revoked"]) == 2
    assert {p["person_id"] for p in report["people"]} == engineer_ids
    kept = [c for p in report["people"] for c in p["credentials_kept"]]
    assert {c["award_id"] for c in kept} == set(held_ids)
    assert {c["status"] for c in kept} == {"active"}

    # Users can no longer use their keys or sign in.
    for login in (admin, member):
        denied = client.get(f"/api/v1/partners/{firm_id}", headers=login.headers)
        assert denied.status_code == 401
    with pytest.raises(Unauthorized):
        accounts.authenticate(db, email=admin.user.email, password="correct horse battery 1")
    db.rollback()
    # The firm badge is revoked; the people's own credentials still verify.
    badge = db.get(TierBadge, badge_id)
    assert badge.status == "revoked"
    assert verify_own(db, settings, json.loads(badge.document)).status == "revoked"
    for award_id in held_ids:
        credential = issuance.current_credential_for_award(db, award_id)
        assert credential is not None
        assert verify_own(db, settings, credential.document).status == "valid"
    assert db.get(FirmTier, (firm_id, "default")).tier is None
    (event,) = db.scalars(select(Event).where(Event.type == "partner.terminated"))
    assert event.payload["licenses_wind_down"] is True
    assert event.payload["reason"] == "breach of the partner agreement"
    # Terminated firms are left out of later sweeps: nothing new happens to them.
    assert service.sweep(db, system).changed == 0
    with pytest.raises(Conflict):
        flows.terminate_partner(db, system, partner_id=firm_id, reason="again")


def test_the_cli_terminates_and_prints_the_final_report(db, system, certified_firm, cli):
    firm, engineers, _ = certified_firm
    firm_id, name = firm.id, engineers[0].display_name
    db.rollback()
    result = cli("tiers", "terminate", firm_id, "--reason", "fraud")
    assert result.exit_code == 0, result.output
    assert "terminated" in result.output
    assert "firm credentials revoked: 1" in result.output
    assert name in result.output
    again = cli("report", "termination", firm_id, "--json")
    assert again.exit_code == 0
    assert json.loads(again.output)["reason"] == "fraud"
    refused = cli("tiers", "terminate", firm_id, "--reason", "again")
    assert refused.exit_code == 1
    assert "already terminated" in refused.output
