"""A firm's directory listing: the service's rules and the PATCH route, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charter.core.auth import Role
from charter.core.models import Event
from charter.partners import listing
from tests.partners.factories import partner

API = "/api/v1"


@pytest.fixture
def firm(db, system):
    made = partner(db, system, status="active", name="Nørdwind Café & Co")
    db.commit()
    return made


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Nørdwind Café & Co", "nrdwind-cafe-co"),
        ("  Alpha -- Cloud  ", "alpha-cloud"),
        ("<script>alert(1)</script>", "script-alert-1-script"),
        ("東京", "firm"),
    ],
)
def test_slug_of(name, slug):
    assert listing.slug_of(name) == slug


def test_a_partner_admin_lists_their_firm_with_a_derived_slug(client, make, firm, sessions):
    admin = make.login(Role.PARTNER_ADMIN, partner_id=firm.id)
    response = client.patch(
        f"{API}/partners/{firm.id}/listing",
        json={"listed": True, "blurb": "Line one\nline two", "website": "https://nw.example"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["listed"] is True
    assert body["shown"] is True
    assert body["slug"] == "nrdwind-cafe-co"
    assert body["profile_url"] == "http://127.0.0.1:8000/directory/nrdwind-cafe-co"
    assert body["blurb"] == "Line one\nline two"
    assert client.get("/directory/nrdwind-cafe-co").status_code == 200
    with sessions() as db:
        logged = db.scalars(select(Event).where(Event.type == "partner.listing_updated")).all()
    assert len(logged) == 1
    assert logged[0].payload["changes"]["listed"] == {"from": False, "to": True}


def test_a_partner_admin_cannot_edit_another_firm(client, make, db, system, firm):
    other = partner(db, system, status="active")
    db.commit()
    admin = make.login(Role.PARTNER_ADMIN, partner_id=other.id)
    response = client.patch(
        f"{API}/partners/{firm.id}/listing", json={"listed": True}, headers=admin.headers
    )
    assert response.status_code == 404


def test_a_partner_member_cannot_edit_the_listing(client, make, firm):
    member = make.login(Role.PARTNER_MEMBER, partner_id=firm.id)
    response = client.patch(
        f"{API}/partners/{firm.id}/listing", json={"listed": True}, headers=member.headers
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"website": "javascript:alert(1)"}, "website"),
        ({"website": "ftp://nw.example"}, "website"),
        ({"blurb": "x" * 1001}, "blurb"),
        ({"blurb": "bad\x00byte"}, "blurb"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "-lead"}, "slug"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_listing_input_names_the_field(client, make, firm, body, field):
    manager = make.login(Role.PROGRAM_MANAGER)
    response = client.patch(f"{API}/partners/{firm.id}/listing", json=body, headers=manager.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]]


def test_a_taken_slug_is_a_conflict_and_a_clash_gets_a_suffix(client, make, db, system, firm):
    twin = partner(db, system, status="active", name="Nørdwind Café & Co.")
    db.commit()
    manager = make.login(Role.PROGRAM_MANAGER)
    first = client.patch(
        f"{API}/partners/{firm.id}/listing", json={"listed": True}, headers=manager.headers
    )
    assert first.json()["slug"] == "nrdwind-cafe-co"
    second = client.patch(
        f"{API}/partners/{twin.id}/listing", json={"listed": True}, headers=manager.headers
    )
    assert second.status_code == 200
    assert second.json()["slug"].startswith("nrdwind-cafe-co-")
    taken = client.patch(
        f"{API}/partners/{twin.id}/listing",
        json={"slug": "nrdwind-cafe-co"},
        headers=manager.headers,
    )
    assert taken.status_code == 409
    assert taken.json()["field"] == "slug"
    chosen = client.patch(
        f"{API}/partners/{twin.id}/listing", json={"slug": "twin-co"}, headers=manager.headers
    )
    assert chosen.json()["slug"] == "twin-co"


def test_an_inactive_firm_is_listed_but_not_shown(client, make, db, system):
    applicant = partner(db, system, name="Waiting Firm")
    db.commit()
    manager = make.login(Role.PROGRAM_MANAGER)
    response = client.patch(
        f"{API}/partners/{applicant.id}/listing", json={"listed": True}, headers=manager.headers
    )
    assert response.json()["listed"] is True
    assert response.json()["shown"] is False
    assert response.json()["profile_url"] is None
    assert client.get("/directory/waiting-firm").status_code == 404
