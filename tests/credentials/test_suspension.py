"""A suspended badge is not valid for any verifier, and a reinstated award's new one is.

``charter verify`` runs offline here, with nothing but the credential and the status list as
anyone can fetch it: no access to Charter's records. The same holds for Digital Bazaar's
verifier (tests/interop/test_issued.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from charter.cli.main import app
from charter.config import get_settings
from charter.credentials import issuance, service
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()

    def verify(credential: dict[str, Any], status_list: dict[str, Any]) -> tuple[int, str]:
        name = credential["id"].rsplit("/", 1)[1]
        credential_file = tmp_path / f"{name}.json"
        credential_file.write_text(json.dumps(credential), encoding="utf-8")
        list_file = tmp_path / f"{name}-list.json"
        list_file.write_text(json.dumps(status_list), encoding="utf-8")
        url = credential["credentialStatus"]["statusListCredential"]
        result = runner.invoke(
            app,
            ["verify", str(credential_file), "--offline", "--document", f"{url}={list_file}"],
        )
        return result.exit_code, result.output

    yield verify
    get_settings.cache_clear()


def _status_list(client, credential: dict[str, Any]) -> dict[str, Any]:
    url = credential["credentialStatus"]["statusListCredential"]
    response = client.get("/status/" + url.rsplit("/", 1)[1])
    assert response.status_code == 200
    listing: dict[str, Any] = response.json()
    return listing


def test_charter_verify_reports_a_suspended_badge_and_verifies_the_reinstated_one(
    cli, client, sessions, system, settings
):
    with sessions() as db, db.begin():
        db.info["settings"] = settings
        firm = partner(db, system)
        holder = person(db, system, partner_id=firm.id)
        awarded = award(
            db, system, person_id=holder.id, certification_id=certification(db, system).id
        )
        first = issuance.current_credential_for_award(db, awarded.id)
        assert first is not None
    code, output = cli(first.document, _status_list(client, first.document))
    assert code == 0, output

    with sessions() as db, db.begin():
        service.suspend_award(db, system, award_id=awarded.id, reason="audit pending")
    code, output = cli(first.document, _status_list(client, first.document))
    assert code == 1
    assert "REVOKED" in output

    with sessions() as db, db.begin():
        db.info["settings"] = settings
        service.reinstate_award(db, system, award_id=awarded.id, reason="audit passed")
        second = issuance.current_credential_for_award(db, awarded.id)
        assert second is not None
    assert second.id != first.id
    code, output = cli(second.document, _status_list(client, second.document))
    assert code == 0, output
    # The suspended credential stays revoked: a verifier may have cached its list.
    code, output = cli(first.document, _status_list(client, first.document))
    assert code == 1
    assert "REVOKED" in output


def test_charters_own_verifier_still_says_suspended(client, sessions, system, settings):
    with sessions() as db, db.begin():
        db.info["settings"] = settings
        firm = partner(db, system)
        holder = person(db, system, partner_id=firm.id)
        awarded = award(
            db, system, person_id=holder.id, certification_id=certification(db, system).id
        )
        found = issuance.current_credential_for_award(db, awarded.id)
        assert found is not None
        service.suspend_award(db, system, award_id=awarded.id, reason="audit pending")
    response = client.post("/api/v1/verify", json={"credential": found.document})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "suspended"
