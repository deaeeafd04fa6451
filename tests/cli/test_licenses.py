"""``charter licenses``: issue, show (by id or typed key), suspend and revoke, as an operator."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from charter.core.models import Event
from tests.licensing.factories import product, sign, template
from tests.partners.factories import partner


@pytest.fixture
def agreement_id(sessions, system, monkeypatch, tmp_path) -> str:
    monkeypatch.setenv("CHARTER_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path))
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        offer = template(db, system, product_id=product(db, system).id)
        return sign(db, system, partner_id=firm.id, template_id=offer.id).id


def test_issue_show_suspend_and_revoke(cli, sessions, agreement_id, operator):
    issued = cli("licenses", "issue", "--agreement", agreement_id, "--seats", "5", "--json")
    assert issued.exit_code == 0, issued.output
    made = json.loads(issued.stdout)
    key = made["key"]

    by_key = cli("licenses", "show", key.lower().replace("-", ""), "--json")
    assert by_key.exit_code == 0, by_key.output
    assert json.loads(by_key.stdout)["id"] == made["id"]
    assert "key" not in json.loads(by_key.stdout)
    shown = cli("licenses", "show", made["id"])
    assert shown.exit_code == 0, shown.output
    assert "active" in shown.stdout
    assert key not in shown.stdout

    suspended = cli("licenses", "suspend", made["id"], "--reason", "unpaid")
    assert suspended.exit_code == 0, suspended.output
    assert "suspended" in suspended.stdout
    revoked = cli("licenses", "revoke", made["id"], "--reason", "breach")
    assert revoked.exit_code == 0, revoked.output
    again = cli("licenses", "revoke", made["id"], "--reason", "breach")
    assert again.exit_code == 1
    assert again.stderr.startswith("error: a license that is revoked cannot be revoked")
    with sessions() as db:
        actors = {
            event.type: event.actor_id
            for event in db.scalars(select(Event).where(Event.subject_id == made["id"]))
        }
    assert actors == {
        "license.issued": operator.id,
        "license.suspended": operator.id,
        "license.revoked": operator.id,
    }


def test_a_mistyped_key_and_bad_seats_are_one_line_errors(cli, agreement_id):
    typo = cli("licenses", "show", "CHL-00000-00000-00000-00000-1")
    assert typo.exit_code == 1
    assert "check character" in typo.stderr
    seats = cli("licenses", "issue", "--agreement", agreement_id, "--seats", "0")
    assert seats.exit_code == 1
    assert seats.stderr.startswith("error: seats: ")
    assert "Traceback" not in seats.output


def test_changes_need_an_operator(bare_cli, agreement_id):
    refused = bare_cli("licenses", "issue", "--agreement", agreement_id, "--seats", "5")

    assert refused.exit_code == 1
    assert "charter --as EMAIL" in refused.stderr


def test_token_prints_a_license_token_without_an_operator(cli, agreement_id, monkeypatch):
    issued = cli("licenses", "issue", "--agreement", agreement_id, "--seats", "5", "--json")
    made = json.loads(issued.stdout)
    monkeypatch.delenv("CHARTER_OPERATOR", raising=False)

    printed = cli("licenses", "token", made["id"], "--json")

    assert printed.exit_code == 0, printed.output
    shown = json.loads(printed.stdout)
    assert shown["license_id"] == made["id"]
    assert shown["token_type"] == "license+jwt"
    assert shown["token"].count(".") == 2
    plain = cli("licenses", "token", made["id"])
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.strip().count(".") == 2
    monkeypatch.setenv("CHARTER_OPERATOR", "operator@example.com")
    assert cli("licenses", "suspend", made["id"], "--reason", "unpaid").exit_code == 0
    refused = cli("licenses", "token", made["id"])
    assert refused.exit_code == 1
    assert "only active licenses get tokens" in refused.stderr
