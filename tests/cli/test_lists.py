"""``charter users list`` and ``charter partners list``, with the API's filters."""

from __future__ import annotations

import json

from charter.partners.enums import PartnerStatus
from tests.accounts.factories import staff_and_firm
from tests.codes import PartnerType, Region
from tests.partners.factories import partner


def test_charter_users_list(cli, sessions, system):
    staff_and_firm(sessions, system)
    result = cli("users", "list", "--role", "partner_admin", "--json")
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert json.loads(line)["email"] == "pat@acme.example"

    table = cli("users", "list", "--disabled")
    assert table.exit_code == 0, table.output
    assert "aud@vendor.example" in table.output
    assert "ada@vendor.example" not in table.output

    limited = cli("users", "list", "--limit", "1")
    assert "more users match" in limited.output

    bad = cli("users", "list", "--role", "emperor")
    assert bad.exit_code != 0


def test_charter_partners_list(cli, sessions, system):
    with sessions() as db, db.begin():
        partner(db, system, name="Northwind Consulting", regions=[Region.NA], country="US")
        partner(
            db,
            system,
            name="Southwind Resellers",
            type=PartnerType.RESELLER,
            regions=[Region.EMEA],
            country="DE",
            status=PartnerStatus.ACTIVE,
        )
    found = cli("partners", "list", "--region", "emea", "--json")
    assert found.exit_code == 0, found.output
    assert [json.loads(line)["name"] for line in found.output.splitlines()] == [
        "Southwind Resellers"
    ]
    by_status = cli("partners", "list", "--status", "applicant")
    assert "Northwind Consulting" in by_status.output
    assert "Southwind" not in by_status.output
    assert "Northwind" in cli("partners", "list", "-q", "north").output
    assert cli("partners", "list", "--country", "us", "--json").output.count("\n") == 1
    assert "no partner matches" in cli("partners", "list", "-q", "nobody").output

    bad = cli("partners", "list", "--country", "USA")
    assert bad.exit_code == 1
    assert "country" in bad.output
