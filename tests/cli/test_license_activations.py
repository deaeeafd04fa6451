"""``charter licenses activations`` lists a license's deployments and ``charter licenses
deactivate`` frees a seat as the operator, through the same services as the API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from charter.accounts import service as accounts
from charter.core.auth import Role
from charter.core.models import Event
from charter.licensing import activations
from charter.licensing.models import LicenseActivation
from tests.licensing.factories import license, product, sign, template
from tests.partners.factories import partner


@pytest.fixture
def deployed(sessions, system, settings, monkeypatch, frozen_clock) -> dict[str, str]:
    """A 3-seat license with two active deployments; the CLI shares the test secret."""
    monkeypatch.setenv("CHARTER_SECRET_KEY", settings.secret_key)
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        offer = template(db, system, product_id=product(db, system).id)
        agreement = sign(db, system, partner_id=firm.id, template_id=offer.id)
        issued, key = license(db, system, agreement_id=agreement.id, seats=3)
        made = {"license": issued.id}
        for name, fingerprint in (("first", "machine-one-0001"), ("second", "machine-two-0002")):
            activation, _ = activations.activate(
                db, key=key, fingerprint=fingerprint, region="emea", customer_name="Acme Clinic"
            )
            made[name] = activation.id
        return made


def _active(sessions, license_id: str) -> int:
    with sessions() as db:
        return db.scalar(
            select(func.count())
            .select_from(LicenseActivation)
            .where(LicenseActivation.license_id == license_id, LicenseActivation.state == "active")
        )


def test_activations_are_listed_as_json_and_as_a_table(cli, deployed):
    listed = cli("licenses", "activations", deployed["license"], "--json")

    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)["items"]
    assert [item["id"] for item in items] == sorted([deployed["first"], deployed["second"]])
    assert {item["state"] for item in items} == {"active"}
    assert {item["fingerprint"] for item in items} == {"machine-one-0001", "machine-two-0002"}
    assert items[0]["activated_at"].startswith("2026-03-01T12:00:00")
    assert items[0]["heartbeat_interval_seconds"] == 600

    table = cli("licenses", "activations", deployed["license"])
    assert table.exit_code == 0, table.output
    assert deployed["first"] in table.stdout
    assert "Acme Clinic" in table.stdout
    none = cli("licenses", "activations", deployed["license"], "--state", "reaped", "--json")
    assert json.loads(none.stdout) == {"items": []}


def test_deactivate_frees_the_seat_as_the_operator(cli, sessions, deployed, operator):
    freed = cli(
        "licenses", "deactivate", deployed["first"], "--reason", "machine retired", "--json"
    )

    assert freed.exit_code == 0, freed.output
    shown = json.loads(freed.stdout)
    assert shown["state"] == "deactivated"
    assert shown["ended_reason"] == "machine retired"
    assert _active(sessions, deployed["license"]) == 1
    with sessions() as db:
        [event] = db.scalars(select(Event).where(Event.type == "license.deactivated")).all()
    assert event.subject_id == deployed["first"]
    assert event.actor_id == operator.id
    assert event.payload["reason"] == "machine retired"

    again = cli("licenses", "deactivate", deployed["first"], "--reason", "again")
    assert again.exit_code == 1
    assert again.stderr.startswith(f"error: activation {deployed['first']} is deactivated")
    listed = cli("licenses", "activations", deployed["license"], "--state", "active", "--json")
    assert [item["id"] for item in json.loads(listed.stdout)["items"]] == [deployed["second"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deactivate", "{second}", "--reason", "   "), "error: reason: "),
        (("deactivate", "{second}", "--reason", "x" * 2001), "error: reason: "),
        (("deactivate", "act_doesnotexist", "--reason", "gone"), "error: activation act_"),
        (("deactivate", "lic_not_an_activation", "--reason", "gone"), "error: activation lic_"),
        (("activations", "lic_doesnotexist"), "error: license lic_doesnotexist not found"),
        (("activations", "{license}", "--state", "asleep"), "error: state: one of active"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(cli, sessions, deployed, args, message):
    before = _active(sessions, deployed["license"])
    result = cli("licenses", *(arg.format(**deployed) for arg in args))

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert _active(sessions, deployed["license"]) == before == 2


def test_deactivating_needs_an_operator_who_manages_licenses(
    bare_cli, sessions, system, deployed, monkeypatch
):
    nobody = bare_cli("licenses", "deactivate", deployed["first"], "--reason", "retired")
    assert nobody.exit_code == 1
    assert "charter --as EMAIL" in nobody.stderr
    with sessions() as db, db.begin():
        accounts.create_user(
            db,
            system,
            email="audrey@example.com",
            display_name="Audrey Auditor",
            role=Role.AUDITOR,
            password=None,
        )
    auditor = bare_cli(
        "--as", "audrey@example.com", "licenses", "deactivate", deployed["first"], "--reason", "x"
    )
    assert auditor.exit_code == 1
    assert auditor.stderr.startswith("error: ")
    assert _active(sessions, deployed["license"]) == 2
