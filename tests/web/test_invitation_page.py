"""The invitation page: public, sessionless, and only a POST accepts."""

from __future__ import annotations

from sqlalchemy import select

from charter.core.auth import Principal
from charter.partners import invitations
from charter.partners.invitation_links import make_token
from charter.partners.models import Person
from charter.partners.schemas import PersonCreate
from tests.partners.factories import partner


def _invitation(sessions, settings, address):
    system = Principal.system("tests")
    with sessions() as db, db.begin():
        firm = partner(db, system, name="Northwind", status="active")
        invited = invitations.invite_person(
            db,
            system,
            data=PersonCreate(
                given_name="Sam",
                family_name="Doe",
                track="technical",
                partner_id=firm.id,
                emails=[address],
            ),
        )
        return firm.id, f"/invitations/{make_token(settings, invitation_id=invited.id)}"


def test_the_page_asks_and_only_a_post_accepts(client, sessions, settings):
    firm_id, url = _invitation(sessions, settings, "sam@example.com")
    for _ in range(2):  # link scanners open links, sometimes more than once
        page = client.get(url)
        assert page.status_code == 200
        assert "Join Northwind" in page.text
        assert '<form method="post">' in page.text
    assert "set-cookie" not in page.headers
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    with sessions() as db:
        assert db.scalars(select(Person)).all() == []

    accepted = client.post(url)
    assert accepted.status_code == 200
    assert "set-cookie" not in accepted.headers
    with sessions() as db:
        [person] = db.scalars(select(Person)).all()
        assert (person.partner_id, person.emails) == (firm_id, ["sam@example.com"])

    used = client.get(url)
    assert "It is accepted" in used.text


def test_a_bad_link_is_a_page_not_a_crash(client):
    for token in ("x", "a" * 400, "%00", "eyJpIjoiaW52XzEifQ.bad"):
        response = client.get(f"/invitations/{token}")
        assert response.status_code == 404
        assert "not valid" in response.text
