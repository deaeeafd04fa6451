"""Finding users: the users list in the service and the API."""

from __future__ import annotations

import pytest

from charter.accounts import service as accounts
from charter.core.auth import Principal, Role
from charter.core.errors import Forbidden, Invalid
from tests.accounts.factories import staff_and_firm


@pytest.fixture
def people(sessions, system):
    """A firm with a partner admin, an admin, a program manager and a disabled auditor."""
    return staff_and_firm(sessions, system)


def _emails(page) -> list[str]:
    return [user.email for user in page.items]


def test_users_are_filtered_by_role_firm_state_and_text(db, people, system):
    assert _emails(accounts.list_users(db, system, role=Role.ADMIN)) == ["ada@vendor.example"]
    assert _emails(accounts.list_users(db, system, partner_id=people["firm"])) == [
        "pat@acme.example"
    ]
    assert _emails(accounts.list_users(db, system, disabled=True)) == ["aud@vendor.example"]
    assert "aud@vendor.example" not in _emails(accounts.list_users(db, system, disabled=False))
    assert _emails(accounts.list_users(db, system, q="MANAGER")) == ["max@vendor.example"]
    assert _emails(accounts.list_users(db, system, q="acme.EXAMPLE")) == ["pat@acme.example"]
    assert _emails(accounts.list_users(db, system, q="100%")) == []  # a wildcard is a character


def test_users_come_a_page_at_a_time(db, people, system):
    first = accounts.list_users(db, system, limit=3)
    assert first.next_cursor is not None
    rest = accounts.list_users(db, system, limit=3, cursor=first.next_cursor)
    seen = _emails(first) + _emails(rest)
    assert len(seen) == len(set(seen)) == 4
    assert rest.next_cursor is None


def test_only_those_who_manage_users_list_them(db, people):
    firm_admin = accounts.principal_for(people["firm_admin"])
    with pytest.raises(Forbidden):
        accounts.list_users(db, firm_admin)
    manager = accounts.principal_for(people["manager"])
    with pytest.raises(Forbidden):
        accounts.list_users(db, manager)
    with pytest.raises(Invalid) as error:
        accounts.list_users(db, Principal.system("t"), q="bad\x00text")
    assert error.value.errors[0].field == "q"


def test_the_api_lists_users_with_the_same_filters(client, make, people):
    admin = make.login(Role.ADMIN)
    response = client.get("/api/v1/users", params={"role": "partner_admin"}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert [user["email"] for user in response.json()["items"]] == ["pat@acme.example"]
    assert "password_hash" not in response.json()["items"][0]

    disabled = client.get("/api/v1/users", params={"disabled": "true"}, headers=admin.headers)
    assert [user["email"] for user in disabled.json()["items"]] == ["aud@vendor.example"]

    bad = client.get("/api/v1/users", params={"role": "emperor"}, headers=admin.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "role"

    member = make.login(Role.PARTNER_MEMBER, partner_id=people["firm"])
    assert client.get("/api/v1/users", headers=member.headers).status_code == 403
