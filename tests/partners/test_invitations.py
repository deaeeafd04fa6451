"""Partner users add people by invitation: one answer whoever holds the address, and a signed,
single-use, expiring link that only the address's owner can use, sent through a real SMTP
server, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from charter.config import Settings
from charter.core.auth import Principal, Role
from charter.core.models import Event
from charter.credentials.models import Award
from charter.partners.invitation_links import make_token
from charter.partners.models import Employment, Person
from charter.worker.runner import run_until_idle
from tests.credentials.factories import award
from tests.mail import Inbox, mail_settings
from tests.partners.factories import partner, person
from tests.programs.factories import certification

API = "/api/v1"
NEW = "new.hire@example.com"
RIVAL = "rival@contoso.example"
BETWEEN = "between.jobs@example.com"
_ID = re.compile(r"\b(inv|per|pem|evt|emp)_[0-9A-Za-z]+")


@pytest.fixture
def settings(tmp_path: Path, inbox: Inbox) -> Settings:
    """The test settings, sending mail to the test SMTP server."""
    return mail_settings(tmp_path, inbox)


@pytest.fixture
def world(sessions, make, frozen_clock, inbox):
    """Our firm with a colleague, a rival firm with a certified person, someone between jobs."""
    system = Principal.system("tests")
    with sessions() as db, db.begin():
        mine = partner(db, system, name="Northwind", status="active")
        theirs = partner(db, system, name="Contoso", status="active")
        colleague = person(db, system, partner_id=mine.id, emails=["colleague@northwind.example"])
        rival = person(db, system, partner_id=theirs.id, emails=[RIVAL])
        between = person(db, system, partner_id=None, emails=[BETWEEN])
        held = award(db, system, person_id=rival.id, certification_id=certification(db, system).id)
        ids = {
            "mine": mine.id,
            "theirs": theirs.id,
            "colleague": colleague.id,
            "rival": rival.id,
            "between": between.id,
            "award": held.id,
        }
    ids["admin"] = make.login(Role.PARTNER_ADMIN, partner_id=ids["mine"])
    ids["other_admin"] = make.login(Role.PARTNER_ADMIN, partner_id=ids["theirs"])
    ids["staff"] = make.login(Role.PROGRAM_MANAGER)
    run_until_idle(sessions)  # the rival's "you earned" mail, which these tests are not about
    inbox.clear()
    return ids


def _invite(client, login, address, **extra):
    body = {"given_name": "Sam", "family_name": "Doe", "track": "sales", "emails": [address]}
    return client.post(f"{API}/people", json={**body, **extra}, headers=login.headers)


def _anonymized(response, address):
    """Status, headers that matter and body with ids and the address replaced."""
    text = _ID.sub("ID", response.text.replace(address, "ADDRESS"))
    location = _ID.sub("ID", response.headers.get("location", ""))
    return response.status_code, response.headers["content-type"], location, text


def _link(inbox, address):
    [message] = inbox.to(address)
    body = message.get_body(preferencelist=("plain",)).get_content()
    [url] = re.findall(r"http://testserver(/invitations/\S+)", body)
    return url


def test_a_partner_admin_gets_one_answer_whoever_holds_the_address(
    client, world, sessions, inbox, frozen_clock
):
    admin = world["admin"]
    colleague = f"{API}/people/{world['colleague']}/emails"
    answers = {}
    for address in (NEW, RIVAL, BETWEEN):
        created = _invite(client, admin, address)
        added = client.post(colleague, json={"email": "x." + address}, headers=admin.headers)
        answers[address] = (_anonymized(created, address), _anonymized(added, "x." + address))
    assert answers[RIVAL] == answers[NEW]
    assert answers[BETWEEN] == answers[NEW]
    (status, kind, location, body), (email_status, *_) = answers[NEW]
    assert (status, email_status) == (202, 202)
    assert kind == "application/json"
    assert location == f"{API}/invitations/ID"
    assert '"state":"pending"' in body
    assert world["rival"] not in str(answers)
    assert world["theirs"] not in str(answers)

    # What the firm's event feed records is alike too.
    with sessions() as db:
        payloads = [
            (event.type, _ID.sub("ID", str(event.payload)))
            for event in db.scalars(
                select(Event).where(Event.partner_id == world["mine"]).order_by(Event.seq)
            )
            if event.type.startswith("invitation.")
        ]
    assert len(payloads) == 6
    by_address = {
        address: [text.replace(address, "A") for _, text in payloads if f"'{address}'" in text]
        for address in (NEW, RIVAL, BETWEEN)
    }
    assert by_address[RIVAL] == by_address[NEW] == by_address[BETWEEN]

    # Every address gets the same mail, whether or not it is on record.
    run_until_idle(sessions)
    mails = {
        address: re.sub(
            r"/invitations/\S+",
            "LINK",
            inbox.to(address)[0].get_body(preferencelist=("plain",)).get_content(),
        )
        for address in (NEW, RIVAL, BETWEEN)
    }
    assert mails[RIVAL] == mails[NEW] == mails[BETWEEN]
    assert "Northwind" in mails[NEW]
    assert "Contoso" not in mails[RIVAL]


def test_confirming_the_link_creates_or_moves_the_person(
    client, world, sessions, inbox, frozen_clock
):
    admin = world["admin"]
    for address in (NEW, RIVAL, BETWEEN):
        assert _invite(client, admin, address).status_code == 202
    run_until_idle(sessions)
    links = {address: _link(inbox, address) for address in (NEW, RIVAL, BETWEEN)}

    page = client.get(links[RIVAL])
    assert page.status_code == 200
    assert "Join Northwind" in page.text
    assert "Contoso" not in page.text
    with sessions() as db:  # looking changes nothing
        assert db.get(Person, world["rival"]).partner_id == world["theirs"]

    for address in (NEW, RIVAL, BETWEEN):
        accepted = client.post(links[address])
        assert accepted.status_code == 200, accepted.text
        assert "Welcome to Northwind" in accepted.text

    with sessions() as db:
        rival = db.get(Person, world["rival"])
        assert rival.partner_id == world["mine"]
        # Their credential is theirs and follows them; their old job is closed.
        assert db.get(Award, world["award"]).person_id == rival.id
        jobs = db.scalars(
            select(Employment)
            .where(Employment.person_id == rival.id)
            .order_by(Employment.joined_at, Employment.id)
        ).all()
        assert [(job.partner_id, job.left_at is None) for job in jobs] == [
            (world["theirs"], False),
            (world["mine"], True),
        ]
        assert db.get(Person, world["between"]).partner_id == world["mine"]
        [hired] = db.scalars(select(Person).where(Person.given_name == "Sam")).all()
        assert (hired.partner_id, hired.emails, hired.track) == (world["mine"], [NEW], "sales")

    listed = client.get(f"{API}/partners/{world['mine']}/invitations", headers=admin.headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert {item["state"] for item in items} == {"accepted"}
    assert {item["person_id"] for item in items} == {world["rival"], world["between"], hired.id}
    team = client.get(f"{API}/partners/{world['mine']}/people", headers=admin.headers).json()
    assert {p["id"] for p in team["items"]} == {
        world["colleague"],
        world["rival"],
        world["between"],
        hired.id,
    }


def test_a_link_works_once(client, world, sessions, inbox, frozen_clock):
    _invite(client, world["admin"], RIVAL)
    run_until_idle(sessions)
    link = _link(inbox, RIVAL)
    assert client.post(link).status_code == 200
    # Moved back by the program team, the person is not moved again by the old link.
    staff = world["staff"]
    moved = client.post(
        f"{API}/people/{world['rival']}/join",
        json={"partner_id": world["theirs"]},
        headers=staff.headers,
    )
    assert moved.status_code == 200
    again = client.post(link)
    assert again.status_code == 409
    assert "already accepted" in again.text
    with sessions() as db:
        assert db.get(Person, world["rival"]).partner_id == world["theirs"]


def test_a_link_expires(client, world, sessions, inbox, frozen_clock):
    admin = world["admin"]
    invitation = _invite(client, admin, RIVAL).json()
    run_until_idle(sessions)
    link = _link(inbox, RIVAL)
    frozen_clock.advance(timedelta(days=15))
    assert "expired" in client.get(link).text
    refused = client.post(link)
    assert refused.status_code == 409
    assert "expired" in refused.text
    with sessions() as db:
        assert db.get(Person, world["rival"]).partner_id == world["theirs"]
    url = f"{API}/partners/{world['mine']}/invitations"
    expired = client.get(url, params={"state": "expired"}, headers=admin.headers).json()
    assert [item["id"] for item in expired["items"]] == [invitation["id"]]
    pending = client.get(url, params={"state": "pending"}, headers=admin.headers).json()
    assert pending["items"] == []
    # An expired invitation no longer stands in the way of a new one.
    assert _invite(client, admin, RIVAL).status_code == 202


def test_a_link_cannot_be_forged(client, world, sessions, inbox, frozen_clock, settings):
    invitation = _invite(client, world["admin"], RIVAL).json()
    run_until_idle(sessions)
    genuine = _link(inbox, RIVAL).rsplit("/", 1)[1]
    other_key = Settings(secret_key="someone else's key", data_dir=settings.data_dir)
    forged = [
        make_token(other_key, invitation_id=invitation["id"]),
        genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),
        invitation["id"],
        "nonsense",
    ]
    for token in forged:
        assert client.get(f"/invitations/{token}").status_code == 404
        assert client.post(f"/invitations/{token}").status_code == 404
    with sessions() as db:
        assert db.get(Person, world["rival"]).partner_id == world["theirs"]


def test_another_firms_admin_cannot_see_or_cancel_the_invitation(
    client, world, sessions, inbox, frozen_clock
):
    invitation = _invite(client, world["admin"], RIVAL).json()
    other = world["other_admin"]
    url = f"{API}/invitations/{invitation['id']}"
    assert client.get(url, headers=other.headers).status_code == 404
    assert client.post(f"{url}/cancel", headers=other.headers).status_code == 404
    listed = client.get(f"{API}/partners/{world['mine']}/invitations", headers=other.headers)
    assert listed.status_code == 404
    own = client.get(f"{API}/partners/{world['theirs']}/invitations", headers=other.headers)
    assert own.json()["items"] == []
    assert client.get(url, headers=world["admin"].headers).json()["state"] == "pending"
    assert client.get(url, headers=world["staff"].headers).status_code == 200


def test_a_cancelled_invitation_cannot_be_accepted(client, world, sessions, inbox, frozen_clock):
    admin = world["admin"]
    invitation = _invite(client, admin, NEW).json()
    run_until_idle(sessions)
    link = _link(inbox, NEW)
    cancelled = client.post(f"{API}/invitations/{invitation['id']}/cancel", headers=admin.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert client.post(link).status_code == 409
    again = client.post(f"{API}/invitations/{invitation['id']}/cancel", headers=admin.headers)
    assert again.status_code == 409
    with sessions() as db:
        assert db.scalars(select(Person).where(Person.given_name == "Sam")).all() == []


def test_an_address_for_a_colleague_is_added_when_its_owner_confirms(
    client, world, sessions, inbox, frozen_clock
):
    admin = world["admin"]
    url = f"{API}/people/{world['colleague']}/emails"
    fresh = "colleague.home@example.com"
    assert client.post(url, json={"email": fresh}, headers=admin.headers).status_code == 202
    assert client.post(url, json={"email": RIVAL}, headers=admin.headers).status_code == 202
    run_until_idle(sessions)
    page = client.get(_link(inbox, fresh))
    assert "Confirm your address" in page.text
    assert client.post(_link(inbox, fresh)).status_code == 200
    # The rival's owner cannot hand their address to someone else's record: nothing changes,
    # and the firm still sees a pending invitation, as if nobody had answered.
    refused = client.post(_link(inbox, RIVAL))
    assert refused.status_code == 409
    person = client.get(f"{API}/people/{world['colleague']}", headers=admin.headers).json()
    assert person["emails"] == ["colleague@northwind.example", fresh]
    states = {
        item["email"]: item["state"]
        for item in client.get(
            f"{API}/partners/{world['mine']}/invitations", headers=admin.headers
        ).json()["items"]
    }
    assert states == {fresh: "accepted", RIVAL: "pending"}
    with sessions() as db:
        assert db.get(Person, world["rival"]).emails == [RIVAL]


def test_what_the_firm_already_sees_is_said_plainly(client, world, sessions, inbox, frozen_clock):
    admin = world["admin"]
    colleague = _invite(client, admin, "colleague@northwind.example")
    assert colleague.status_code == 409
    assert colleague.json()["person_id"] == world["colleague"]
    first = _invite(client, admin, NEW)
    twice = _invite(client, admin, NEW)
    assert twice.status_code == 409
    assert twice.json()["invitation_id"] == first.json()["id"]
    # Making an own address primary needs no invitation.
    primary = client.post(
        f"{API}/people/{world['colleague']}/emails",
        json={"email": "colleague@northwind.example", "primary": True},
        headers=admin.headers,
    )
    assert primary.status_code == 409  # it is the primary already
    # Another firm's invitation to the same address is not in the way either.
    assert _invite(client, world["other_admin"], NEW).status_code == 202


@pytest.mark.parametrize("address", [NEW, RIVAL])
def test_partner_users_do_not_set_external_ids(client, world, sessions, address, frozen_clock):
    with sessions() as db, db.begin():
        rival = db.get(Person, world["rival"])
        rival.external_id = "LMS-7"
    admin = world["admin"]
    for external_id in ("LMS-7", "LMS-8"):
        created = _invite(client, admin, address, external_id=external_id)
        assert created.status_code == 422
        assert [e["field"] for e in created.json()["errors"]] == ["external_id"]
        changed = client.patch(
            f"{API}/people/{world['colleague']}",
            json={"external_id": external_id},
            headers=admin.headers,
        )
        assert changed.status_code == 422
        assert [e["field"] for e in changed.json()["errors"]] == ["external_id"]
    staff = client.patch(
        f"{API}/people/{world['colleague']}",
        json={"external_id": "LMS-7"},
        headers=world["staff"].headers,
    )
    assert staff.status_code == 409
