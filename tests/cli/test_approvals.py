"""``charter approvals``: list, show, approve and reject requests as a governance owner, through
the approvals service the API uses (license territory requests held by activations)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from charter.accounts import service as accounts
from charter.approvals.models import ApprovalRequest
from charter.core.auth import Role
from charter.core.models import Event
from charter.licensing import activations
from charter.licensing.models import License
from tests.licensing.factories import license, product, sign, template, terms
from tests.partners.factories import partner

OWNER = "grace.owner@example.com"
MANAGER = "pat.manager@example.com"


@pytest.fixture
def held(sessions, system, settings, monkeypatch, frozen_clock) -> dict[str, str]:
    """Two EMEA licenses, each with a deployment in North America awaiting approval; a
    governance owner and a program manager."""
    monkeypatch.setenv("CHARTER_SECRET_KEY", settings.secret_key)
    territory = {"regions": ["emea", "na"], "countries": ["DE", "FR", "US"]}
    made: dict[str, str] = {}
    with sessions() as db, db.begin():
        for email, name, role in (
            (OWNER, "Grace Owner", Role.GOVERNANCE_OWNER),
            (MANAGER, "Pat Manager", Role.PROGRAM_MANAGER),
        ):
            accounts.create_user(
                db, system, email=email, display_name=name, role=role, password=None
            )
        firm = partner(db, system, status="active")
        offer = template(
            db, system, product_id=product(db, system).id, terms=terms(territory=territory)
        )
        agreement = sign(db, system, partner_id=firm.id, template_id=offer.id)
        for name in ("first", "second"):
            issued, key = license(
                db, system, agreement_id=agreement.id, seats=2, regions=["emea"], countries=["DE"]
            )
            request = activations.activate(
                db,
                key=key,
                fingerprint=f"{name}-box-000001",
                region="na",
                country="US",
                customer_name="Acme Hospital",
                justification=f"The {name} customer's site is in Boston.",
            )
            assert isinstance(request, activations.HeldForApproval)
            made[name] = request.approval_id
            made[f"{name}_license"] = issued.id
    return made


def _state(sessions, request_id: str) -> str:
    with sessions() as db:
        return db.get(ApprovalRequest, request_id).state


def test_list_and_show(cli, held):
    listed = cli("approvals", "list", "--status", "pending", "--json")

    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)["items"]
    assert [item["id"] for item in items] == sorted([held["first"], held["second"]])
    assert {item["type"] for item in items} == {"license.territory"}
    assert {item["state"] for item in items} == {"pending"}
    assert items[0]["overdue"] is False
    by_type = cli("approvals", "list", "--type", "license.territory", "--json")
    assert len(json.loads(by_type.stdout)["items"]) == 2
    other = cli("approvals", "list", "--type", "tier.override", "--json")
    assert json.loads(other.stdout) == {"items": []}
    decided = cli("approvals", "list", "--status", "rejected")
    assert decided.exit_code == 0, decided.output
    assert "no approval requests match" in decided.stdout

    table = cli("approvals", "list")
    assert table.exit_code == 0, table.output
    assert held["first"] in table.stdout
    assert "license.territory" in table.stdout
    shown = cli("approvals", "show", held["first"])
    assert shown.exit_code == 0, shown.output
    assert "The first customer's site is in Boston." in shown.stdout
    assert '"add_regions": ["na"]' in shown.stdout
    as_json = json.loads(cli("approvals", "show", held["second"], "--json").stdout)
    assert as_json["subject_id"] == held["second_license"]
    assert as_json["proposed_change"]["add_regions"] == ["na"]


def test_the_governance_owner_approves_and_rejects(cli, sessions, held, monkeypatch):
    monkeypatch.setenv("CHARTER_OPERATOR", OWNER)

    approved = cli("approvals", "approve", held["first"], "--reason", "Customer verified", "--json")

    assert approved.exit_code == 0, approved.output
    shown = json.loads(approved.stdout)
    assert shown["state"] == "applied"
    assert shown["decided_by_name"] == "Grace Owner"
    assert shown["reason"] == "Customer verified"
    with sessions() as db:
        extended = db.get(License, held["first_license"])
        assert "na" in extended.regions

    rejected = cli("approvals", "reject", held["second"], "--reason", "No US support yet")
    assert rejected.exit_code == 0, rejected.output
    assert "rejected" in rejected.stdout
    assert "No US support yet" in rejected.stdout
    with sessions() as db:
        assert db.get(License, held["second_license"]).regions == ["emea"]
        owner = {
            event.type: event.actor_id
            for event in db.scalars(select(Event).where(Event.type.like("approval.%")))
        }
        owner_id = db.scalar(select(Event.actor_id).where(Event.type == "approval.rejected"))
    assert owner["approval.approved"] == owner["approval.rejected"] == owner_id
    assert owner_id is not None

    again = cli("approvals", "approve", held["second"])
    assert again.exit_code == 1
    assert (
        again.stderr == f"error: approval request {held['second']} is rejected, no longer pending\n"
    )


@pytest.mark.parametrize(
    ("operator_email", "args", "message"),
    [
        (OWNER, ("reject", "{first}", "--reason", "  "), "error: reason: "),
        (OWNER, ("approve", "{first}", "--reason", "x" * 2001), "error: reason: "),
        (OWNER, ("approve", "apr_doesnotexist"), "error: approval request apr_doesnotexist not"),
        (MANAGER, ("approve", "{first}"), "error: "),
        (None, ("approve", "{first}"), "error: say who makes this change"),
        (OWNER, ("list", "--status", "open"), "error: status: one of pending"),
        (OWNER, ("show", "apr_doesnotexist"), "error: approval request apr_doesnotexist not"),
    ],
)
def test_bad_input_and_the_wrong_operator_change_nothing(
    cli, sessions, held, monkeypatch, operator_email, args, message
):
    if operator_email is None:
        monkeypatch.delenv("CHARTER_OPERATOR")
    else:
        monkeypatch.setenv("CHARTER_OPERATOR", operator_email)
    with sessions() as db:
        events_before = db.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1))

    result = cli("approvals", *(arg.format(**held) for arg in args))

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _state(sessions, held["first"]) == "pending"
    with sessions() as db:
        assert db.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) == events_before
