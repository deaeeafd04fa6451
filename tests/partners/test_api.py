"""The partners and people routes over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charter.core.auth import Role
from charter.core.models import Event

API = "/api/v1"


@pytest.fixture
def admin(make):
    return make.login(Role.PROGRAM_MANAGER)


def _firm(client, login, **overrides):
    body = {
        "name": "Northwind Consulting",
        "type": "implementation",
        "regions": ["emea"],
        "country": "de",
        "website": "https://northwind.example",
    }
    body.update(overrides)
    response = client.post(f"{API}/partners", json=body, headers=login.headers)
    assert response.status_code == 201, response.text
    return response.json()


def _person(client, login, partner_id, email, **overrides):
    body = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "track": "technical",
        "partner_id": partner_id,
        "emails": [email],
    }
    body.update(overrides)
    response = client.post(f"{API}/people", json=body, headers=login.headers)
    assert response.status_code == 201, response.text
    return response.json()


def _fields(response):
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


def test_create_and_read_a_partner(client, admin):
    firm = _firm(client, admin, external_id="SF-1")
    assert firm["id"].startswith("prt_")
    assert firm["status"] == "applicant"
    assert firm["country"] == "DE"
    assert firm["regions"] == ["emea"]
    assert firm["onboarding"]["agreement_signed"] == {
        "done": False,
        "at": None,
        "by": None,
        "note": None,
    }
    again = client.get(f"{API}/partners/{firm['id']}", headers=admin.headers)
    assert again.status_code == 200
    assert again.json() == firm


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "XX"),
        ("website", "javascript:alert(1)"),
        ("website", "https://"),
        ("type", "franchise"),
        ("regions", ["mars"]),
        ("name", "x" * 5000),
        ("name", "bad\x00name"),
    ],
)
def test_bad_partner_input_is_a_problem_naming_the_field(client, admin, field, value):
    response = client.post(
        f"{API}/partners",
        json={"name": "Contoso", "type": "var", "regions": ["na"], "country": "US", field: value},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert _fields(response)[0].split(".")[0] == field
    assert client.get(f"{API}/partners", headers=admin.headers).json()["items"] == []


def test_unknown_fields_are_refused(client, admin):
    response = client.post(
        f"{API}/partners",
        json={"name": "C", "type": "var", "regions": ["na"], "country": "US", "status": "active"},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert _fields(response) == ["status"]


def test_duplicate_external_id_is_a_conflict(client, admin):
    _firm(client, admin, external_id="SF-9")
    response = client.post(
        f"{API}/partners",
        json={
            "name": "Other",
            "type": "var",
            "regions": ["na"],
            "country": "US",
            "external_id": "SF-9",
        },
        headers=admin.headers,
    )
    assert response.status_code == 409
    assert "SF-9" in response.json()["detail"]


def test_lifecycle_over_http(client, admin):
    firm = _firm(client, admin)
    url = f"{API}/partners/{firm['id']}"

    refused = client.post(
        f"{url}/status", json={"status": "active", "reason": "eager"}, headers=admin.headers
    )
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/conflict"
    assert "cannot go from applicant to active" in refused.json()["detail"]
    # RFC 9457: "status" is the HTTP status code; the firm's own status has its own member.
    assert refused.json()["status"] == 409
    assert refused.json()["current_status"] == "applicant"
    assert refused.json()["allowed"] == ["onboarding", "terminated"]

    no_reason = client.post(
        f"{url}/status", json={"status": "onboarding", "reason": "  "}, headers=admin.headers
    )
    assert no_reason.status_code == 422
    assert _fields(no_reason) == ["reason"]

    moved = client.post(
        f"{url}/status", json={"status": "onboarding", "reason": "ok"}, headers=admin.headers
    )
    assert moved.status_code == 200
    assert moved.json()["status"] == "onboarding"

    early = client.post(
        f"{url}/status", json={"status": "active", "reason": "go"}, headers=admin.headers
    )
    assert early.status_code == 409
    assert "security_posture" in early.json()["detail"]

    for check in ("identity_verified", "eligibility", "agreement_signed", "security_posture"):
        done = client.put(
            f"{url}/onboarding/{check}", json={"done": True, "note": "ok"}, headers=admin.headers
        )
        assert done.status_code == 200, done.text
        assert done.json()["onboarding"][check]["done"] is True

    active = client.post(
        f"{url}/status", json={"status": "active", "reason": "ready"}, headers=admin.headers
    )
    assert active.status_code == 200
    assert active.json()["status"] == "active"
    assert active.json()["status_reason"] == "ready"

    unknown = client.put(
        f"{url}/onboarding/credit_check", json={"done": True}, headers=admin.headers
    )
    assert unknown.status_code == 422


def test_people_over_http(client, admin):
    firm = _firm(client, admin)
    person = _person(client, admin, firm["id"], "Ada@Example.com")
    assert person["emails"] == ["ada@example.com"]
    assert person["primary_email"] == "ada@example.com"
    assert person["display_name"] == "Ada Lovelace"
    assert person["partner_id"] == firm["id"]
    url = f"{API}/people/{person['id']}"

    added = client.post(
        f"{url}/emails", json={"email": "ada@analytical.example"}, headers=admin.headers
    )
    assert added.status_code == 201
    assert added.json()["emails"] == ["ada@example.com", "ada@analytical.example"]

    removed = client.delete(f"{url}/emails/ada@analytical.example", headers=admin.headers)
    assert removed.status_code == 204
    assert client.get(url, headers=admin.headers).json()["emails"] == ["ada@example.com"]

    renamed = client.patch(
        url, json={"family_name": "King", "track": "sales"}, headers=admin.headers
    )
    assert renamed.status_code == 200
    assert renamed.json()["display_name"] == "Ada King"

    people = client.get(f"{API}/partners/{firm['id']}/people", headers=admin.headers).json()
    assert [p["id"] for p in people["items"]] == [person["id"]]


def test_email_problems(client, admin):
    _person(client, admin, None, "taken@example.com")
    malformed = client.post(
        f"{API}/people",
        json={
            "given_name": "B",
            "family_name": "C",
            "track": "support",
            "emails": ["fine@example.com", "not-an-email"],
        },
        headers=admin.headers,
    )
    assert malformed.status_code == 422
    assert _fields(malformed) == ["emails.1"]

    duplicate = client.post(
        f"{API}/people",
        json={
            "given_name": "B",
            "family_name": "C",
            "track": "support",
            "emails": ["TAKEN@example.com"],
        },
        headers=admin.headers,
    )
    assert duplicate.status_code == 409
    assert "taken@example.com" in duplicate.json()["detail"]
    assert len(client.get(f"{API}/people", headers=admin.headers).json()["items"]) == 1


def test_join_and_leave_over_http(client, admin):
    first = _firm(client, admin, name="First")
    second = _firm(client, admin, name="Second")
    person = _person(client, admin, first["id"], "mover@example.com")
    url = f"{API}/people/{person['id']}"

    joined = client.post(f"{url}/join", json={"partner_id": second["id"]}, headers=admin.headers)
    assert joined.status_code == 200
    assert joined.json()["partner_id"] == second["id"]
    left = client.post(f"{url}/leave", headers=admin.headers)
    assert left.status_code == 200
    assert left.json()["partner_id"] is None
    again = client.post(f"{url}/leave", headers=admin.headers)
    assert again.status_code == 409

    history = client.get(f"{url}/employments", headers=admin.headers).json()
    assert [(job["partner_id"], job["left_at"] is None) for job in history] == [
        (first["id"], False),
        (second["id"], False),
    ]


def test_partner_users_are_confined_to_their_firm(client, admin, make, db):
    mine = _firm(client, admin, name="Mine")
    other = _firm(client, admin, name="Other")
    colleague = _person(client, admin, mine["id"], "colleague@mine.example")
    stranger = _person(client, admin, other["id"], "stranger@other.example")
    me = make.login(Role.PARTNER_ADMIN, partner_id=mine["id"])

    listed = client.get(f"{API}/partners", headers=me.headers).json()["items"]
    assert [firm["id"] for firm in listed] == [mine["id"]]
    assert client.get(f"{API}/partners/{other['id']}", headers=me.headers).status_code == 404
    assert (
        client.patch(
            f"{API}/partners/{other['id']}", json={"name": "Taken"}, headers=me.headers
        ).status_code
        == 404
    )
    assert client.get(f"{API}/partners/{other['id']}/people", headers=me.headers).status_code == 404
    assert client.get(f"{API}/people/{stranger['id']}", headers=me.headers).status_code == 404

    own = client.patch(
        f"{API}/partners/{mine['id']}", json={"name": "Mine Ltd"}, headers=me.headers
    )
    assert own.status_code == 200
    assert own.json()["name"] == "Mine Ltd"
    status = client.post(
        f"{API}/partners/{mine['id']}/status",
        json={"status": "onboarding", "reason": "we are ready"},
        headers=me.headers,
    )
    assert status.status_code == 403
    onboarding = client.put(
        f"{API}/partners/{mine['id']}/onboarding/eligibility",
        json={"done": True},
        headers=me.headers,
    )
    assert onboarding.status_code == 403

    people = client.get(f"{API}/people", headers=me.headers).json()["items"]
    assert [p["id"] for p in people] == [colleague["id"]]
    hired = client.post(
        f"{API}/people",
        json={
            "given_name": "New",
            "family_name": "Hire",
            "track": "sales",
            "emails": ["new.hire@mine.example"],
        },
        headers=me.headers,
    )
    # Partner users' additions are invitations the address's owner confirms.
    assert hired.status_code == 202
    assert hired.json()["partner_id"] == mine["id"]
    assert hired.json()["state"] == "pending"
    elsewhere = client.post(
        f"{API}/people",
        json={
            "given_name": "X",
            "family_name": "Y",
            "track": "sales",
            "partner_id": other["id"],
            "emails": ["x.y@mine.example"],
        },
        headers=me.headers,
    )
    assert elsewhere.status_code == 404

    # Events about their firm carry its id, so partner-facing feeds can include them.
    about_mine = db.scalars(select(Event.type).where(Event.partner_id == mine["id"])).all()
    assert {"partner.created", "partner.updated", "person.created", "invitation.created"} <= set(
        about_mine
    )
    assert (
        "person.created"
        in db.scalars(
            select(Event.type).where(
                Event.subject_id == stranger["id"], Event.partner_id == other["id"]
            )
        ).all()
    )


def test_pagination_and_filters_over_http(client, admin):
    made = [
        _firm(
            client,
            admin,
            name=f"Firm {n}",
            regions=[["na"], ["emea"]][n % 2],
            country=["US", "DE"][n % 2],
        )["id"]
        for n in range(7)
    ]
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 3}
    while True:
        page = client.get(f"{API}/partners", params=params, headers=admin.headers).json()
        seen.extend(firm["id"] for firm in page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == made

    def ids(**params):
        response = client.get(f"{API}/partners", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [firm["id"] for firm in response.json()["items"]]

    assert ids(region="emea") == made[1::2]
    assert ids(country="us") == made[0::2]
    assert ids(q="firm 3") == [made[3]]
    assert ids(status="active") == []

    bad_cursor = client.get(f"{API}/partners", params={"cursor": "nope!"}, headers=admin.headers)
    assert bad_cursor.status_code == 422
    assert _fields(bad_cursor) == ["cursor"]
    bad_limit = client.get(f"{API}/partners", params={"limit": 0}, headers=admin.headers)
    assert bad_limit.status_code == 422
    bad_region = client.get(f"{API}/people", params={"region": "mars"}, headers=admin.headers)
    assert bad_region.status_code == 422


def test_people_pagination_and_region_filter(client, admin):
    emea = _firm(client, admin, regions=["emea"])
    apac = _firm(client, admin, regions=["apac"])
    made = [
        _person(client, admin, [emea, apac][n % 2]["id"], f"p{n}@example.com")["id"]
        for n in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/people", params=params, headers=admin.headers).json()
        seen.extend(p["id"] for p in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    region = client.get(f"{API}/people", params={"region": "apac"}, headers=admin.headers)
    assert [p["id"] for p in region.json()["items"]] == made[1::2]


def test_auditors_read_but_do_not_write(client, admin, make):
    firm = _firm(client, admin)
    auditor = make.login(Role.AUDITOR)
    assert client.get(f"{API}/partners/{firm['id']}", headers=auditor.headers).status_code == 200
    response = client.patch(
        f"{API}/partners/{firm['id']}", json={"name": "Audited"}, headers=auditor.headers
    )
    assert response.status_code == 403


def test_a_taken_address_is_no_answer_to_partner_users(client, make, admin):
    """A partner admin adding a colleague's address, another firm's person's, someone's between
    jobs or a new one: what they already see is said (their colleague), the rest is all one
    invitation (the full comparison is in test_invitations.py)."""
    mine = _firm(client, admin, name="Northwind")
    theirs = _firm(client, admin, name="Contoso")
    partner_admin = make.login(Role.PARTNER_ADMIN, partner_id=mine["id"])
    colleague = _person(client, admin, mine["id"], "colleague@example.com")
    mate = _person(client, admin, mine["id"], "mate@example.com")
    _person(client, admin, theirs["id"], "rival@example.com")
    _person(client, admin, None, "between.jobs@example.com")

    def answers(address):
        created = client.post(
            f"{API}/people",
            json={"given_name": "X", "family_name": "Y", "track": "sales", "emails": [address]},
            headers=partner_admin.headers,
        )
        added = client.post(
            f"{API}/people/{colleague['id']}/emails",
            json={"email": "other." + address},
            headers=partner_admin.headers,
        )
        return [response.status_code for response in (created, added)]

    at_my_firm = client.post(
        f"{API}/people",
        json={
            "given_name": "X",
            "family_name": "Y",
            "track": "sales",
            "emails": ["mate@example.com"],
        },
        headers=partner_admin.headers,
    )
    assert at_my_firm.status_code == 409
    assert at_my_firm.json()["person_id"] == mate["id"]
    assert answers("rival@example.com") == [202, 202]
    assert answers("between.jobs@example.com") == [202, 202]
    assert answers("new@example.com") == [202, 202]


def test_staff_are_told_who_holds_a_taken_address(client, admin):
    firm = _firm(client, admin)
    holder = _person(client, admin, firm["id"], "ada@example.com")
    response = client.post(
        f"{API}/people",
        json={
            "given_name": "A",
            "family_name": "L",
            "track": "sales",
            "emails": ["ada@example.com"],
        },
        headers=admin.headers,
    )
    assert response.status_code == 409
    assert response.json()["person_id"] == holder["id"]
    assert response.json()["email"] == "ada@example.com"
