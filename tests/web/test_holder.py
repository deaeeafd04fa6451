"""Holders' pages: the emailed one-time sign-in link (read from a real SMTP server), the
badges page, and the settings a holder changes there."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from charter.accounts.models import HolderSignInLink
from charter.config import Settings
from charter.core.auth import Role
from charter.core.models import Event
from charter.credentials import issuance
from charter.credentials import service as awards
from charter.credentials.models import Award
from charter.notify.models import EmailMessage
from charter.notify.render import SPENT_BODY
from charter.partners.models import Person
from charter.worker.runner import run_until_idle
from tests.credentials.factories import HOLDER_DID, award
from tests.mail import Inbox, mail_settings
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.web.helpers import csrf_from, sign_in, web_user

LINK = re.compile(r"http://testserver(/me/sign-in/\S+)")
SAME_ANSWER = "If we know this address, we sent a sign-in link to it."


@pytest.fixture
def settings(tmp_path: Path, inbox: Inbox) -> Settings:
    """The test settings, sending mail to the test SMTP server."""
    return mail_settings(tmp_path, inbox)


def _holder(sessions, system, *, certifications=1):
    """A certified person: their address, name, awards and their credentials' ids."""
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        holder = person(db, system, partner_id=firm.id)
        held = []
        for _ in range(certifications):
            cert = certification(db, system)
            made = award(db, system, person_id=holder.id, certification_id=cert.id)
            credential = issuance.current_credential_for_award(db, made.id)
            held.append((made.id, credential.id, cert.name))
        return holder.emails[0], holder.display_name, holder.id, held


def _ask(client, address):
    token = csrf_from(client.get("/me").text)
    return client.post("/me", data={"email": address, "csrf": token}, follow_redirects=False)


def _link(sessions, inbox, address):
    run_until_idle(sessions)
    [message] = [m for m in inbox.to(address) if "sign-in link" in str(m["Subject"])]
    body = message.get_body(preferencelist=("plain",)).get_content()
    [path] = LINK.findall(body)
    return path


def _use(client, path):
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf": csrf_from(page.text)}, follow_redirects=False)


def _signed_in(client, sessions, inbox, address):
    assert _ask(client, address).status_code == 200
    used = _use(client, _link(sessions, inbox, address))
    assert used.status_code == 303
    assert used.headers["location"] == "/me/badges"
    return client.get("/me/badges")


def test_the_form_answers_the_same_for_known_and_unknown_addresses(
    client, sessions, system, inbox, frozen_clock
):
    address, *_ = _holder(sessions, system)
    form = client.get("/me")
    assert form.status_code == 200
    assert 'name="email"' in form.text
    assert form.headers["cache-control"] == "no-store"
    # The portal's signed cookie, with its flags: the holder session lives in it too.
    cookie = form.headers["set-cookie"].lower()
    assert cookie.startswith("charter_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie

    known = _ask(client, address)
    unknown = _ask(client, "nobody.here@example.com")
    invalid = _ask(client, "not an address")
    assert known.status_code == unknown.status_code == invalid.status_code == 200
    assert SAME_ANSWER in known.text
    assert known.text == unknown.text == invalid.text

    run_until_idle(sessions)
    assert inbox.to("nobody.here@example.com") == []
    [mail] = [m for m in inbox.to(address) if "sign-in link" in str(m["Subject"])]
    assert LINK.search(mail.get_body(preferencelist=("plain",)).get_content())
    with sessions() as db:
        [link] = db.scalars(select(HolderSignInLink)).all()
        token = LINK.search(mail.get_body(preferencelist=("plain",)).get_content()).group(1)
        # Stored hashed: the token itself is nowhere in the row.
        assert token.rsplit("/", 1)[1] not in (link.token_hash, link.id)


def test_a_link_signs_in_once_and_lands_on_the_badges(
    client, app, sessions, system, inbox, frozen_clock
):
    address, name, person_id, held = _holder(sessions, system, certifications=2)
    assert _ask(client, address).status_code == 200
    path = _link(sessions, inbox, address)
    # Once sent, the outbox keeps no usable link: a dump of the database gives nobody a way in.
    with sessions() as db:
        [sent] = db.scalars(select(EmailMessage).where(EmailMessage.kind == "holder_sign_in"))
        assert sent.status == "sent"
        assert path.rsplit("/", 1)[-1] not in sent.text_body + sent.html_body
        assert sent.text_body == sent.html_body == SPENT_BODY
    opened = client.get(path)
    opened_again = client.get(path)  # a mail scanner opening the link uses nothing
    assert opened.status_code == opened_again.status_code == 200
    used = _use(client, path)
    assert used.status_code == 303
    assert used.headers["location"] == "/me/badges"

    page = client.get("/me/badges")
    assert page.status_code == 200
    assert f"Signed in as {name}" in page.text
    for award_id, credential_id, cert_name in held:
        assert cert_name in page.text
        assert f'id="badge-{award_id}"' in page.text
        assert f"/credentials/{credential_id}/badge.png" in page.text
        assert f"/credentials/{credential_id}.json" in page.text
        assert f"/credentials/{credential_id}/embed" in page.text  # the snippet, escaped
    assert "linkedin.com/profile/add" in page.text
    with sessions() as db:
        [event] = db.scalars(select(Event).where(Event.type == "holder.signed_in")).all()
        assert (event.actor_type, event.actor_id) == ("person", person_id)

    # The link is used: in another browser too, it no longer works.
    with TestClient(app, raise_server_exceptions=False) as other:
        assert other.get(path).status_code == 404
        token = csrf_from(other.get("/me").text)
        refused = other.post(path, data={"csrf": token}, follow_redirects=False)
        assert refused.status_code == 404
        assert "not valid" in refused.text
        assert other.get("/me/badges", follow_redirects=False).headers["location"] == "/me"


def test_a_link_expires_after_fifteen_minutes(client, sessions, system, inbox, frozen_clock):
    address, *_ = _holder(sessions, system)
    _ask(client, address)
    path = _link(sessions, inbox, address)
    page = client.get(path)
    assert page.status_code == 200
    frozen_clock.advance(timedelta(minutes=15))
    refused = client.post(path, data={"csrf": csrf_from(page.text)}, follow_redirects=False)
    assert refused.status_code == 404
    assert client.get(path).status_code == 404
    assert client.get("/me/badges", follow_redirects=False).headers["location"] == "/me"

    # A fresh link, used within its 15 minutes, works.
    inbox.clear()
    _ask(client, address)
    path = _link(sessions, inbox, address)
    frozen_clock.advance(timedelta(minutes=14))
    assert _use(client, path).status_code == 303


def test_asking_too_often_waits_per_address_and_per_client(
    client, sessions, system, inbox, frozen_clock
):
    address, *_ = _holder(sessions, system)
    for _ in range(3):
        assert _ask(client, address).status_code == 200
    refused = _ask(client, address)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    # An unknown address is limited the same way: the limit tells nothing about accounts.
    for _ in range(3):
        assert _ask(client, "stranger@example.com").status_code == 200
    assert _ask(client, "stranger@example.com").status_code == 429
    run_until_idle(sessions)
    assert len([m for m in inbox.to(address) if "sign-in link" in str(m["Subject"])]) == 3

    frozen_clock.advance(timedelta(hours=2))  # the address's asks are forgotten
    # One client asking for many addresses is stopped too.
    answers = [_ask(client, f"guess.{n}@example.com").status_code for n in range(22)]
    assert answers[:12] == [200] * 12
    assert 429 in answers
    assert _ask(client, address).status_code == 429


def test_every_form_needs_the_csrf_token(client, sessions, system, inbox, frozen_clock):
    address, _, _, held = _holder(sessions, system)
    refused = client.post("/me", data={"email": address, "csrf": "forged"})
    assert refused.status_code == 403
    run_until_idle(sessions)
    assert [m for m in inbox.to(address) if "sign-in link" in str(m["Subject"])] == []

    _signed_in(client, sessions, inbox, address)
    award_id = held[0][0]
    for path, data in (
        (f"/me/badges/{award_id}/name", {"shown": "yes"}),
        ("/me/did", {"did": HOLDER_DID}),
        ("/me/sign-out", {}),
    ):
        assert client.post(path, data={**data, "csrf": "forged"}).status_code == 403
    with sessions() as db:
        assert db.get(Award, award_id).show_holder_name is None
    assert client.get("/me/badges").status_code == 200  # still signed in


def test_turning_the_name_on_shows_it_on_the_public_page(
    client, sessions, system, inbox, frozen_clock
):
    address, name, person_id, held = _holder(sessions, system)
    award_id, credential_id, _ = held[0]
    public = client.get(f"/credentials/{credential_id}")
    assert public.status_code == 200
    assert name not in public.text  # not shown unless the holder chooses

    page = _signed_in(client, sessions, inbox, address)
    assert "Your name is not shown on this badge" in page.text
    changed = client.post(
        f"/me/badges/{award_id}/name",
        data={"shown": "yes", "csrf": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    page = client.get("/me/badges")
    assert "Your name is shown on this badge" in page.text
    assert name in client.get(f"/credentials/{credential_id}").text
    with sessions() as db:
        [event] = db.scalars(
            select(Event).where(Event.type == "award.name_visibility_changed")
        ).all()
        assert (event.actor_type, event.actor_id, event.subject_id) == (
            "person",
            person_id,
            award_id,
        )
        assert event.payload["name_shown"] == {"from": False, "to": True}

    client.post(
        f"/me/badges/{award_id}/name",
        data={"shown": "no", "csrf": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert name not in client.get(f"/credentials/{credential_id}").text


def test_another_persons_badge_cannot_be_changed(client, sessions, system, inbox, frozen_clock):
    address, *_ = _holder(sessions, system)
    _, other_name, _, other_held = _holder(sessions, system)
    other_award, other_credential, _ = other_held[0]
    page = _signed_in(client, sessions, inbox, address)
    token = csrf_from(page.text)
    for award_id in (other_award, "awd_nonexistent", "x" * 500):
        refused = client.post(f"/me/badges/{award_id}/name", data={"shown": "yes", "csrf": token})
        assert refused.status_code == 404
    with sessions() as db:
        assert db.get(Award, other_award).show_holder_name is None
    assert other_name not in client.get(f"/credentials/{other_credential}").text
    assert other_award not in client.get("/me/badges").text


def test_a_holder_sets_a_checked_did_for_the_credentials_issued_next(
    client, sessions, system, inbox, frozen_clock
):
    address, _, person_id, held = _holder(sessions, system)
    page = _signed_in(client, sessions, inbox, address)
    assert "Credentials issued from now on" in page.text
    token = csrf_from(page.text)

    bad = client.post("/me/did", data={"did": "did:example:123", "csrf": token})
    assert bad.status_code == 422
    assert "must be a did:key or did:web DID" in bad.text
    with sessions() as db:
        assert db.get(Person, person_id).did is None

    saved = client.post("/me/did", data={"did": HOLDER_DID, "csrf": token}, follow_redirects=False)
    assert saved.status_code == 303
    assert f'value="{HOLDER_DID}"' in client.get("/me/badges").text
    with sessions() as db:
        assert db.get(Person, person_id).did == HOLDER_DID
        [event] = db.scalars(
            select(Event).where(Event.type == "person.updated", Event.subject_id == person_id)
        ).all()
        assert event.actor_type == "person"
        assert event.payload["changes"]["did"] == {"from": None, "to": HOLDER_DID}
        # The credential already issued keeps its subject until it is renewed or reissued.
        credential = issuance.get_credential(db, held[0][1])
        assert "id" not in credential.document["credentialSubject"]

    # The next credential issued to the holder names the DID.
    with sessions() as db, db.begin():
        cert = certification(db, system)
        made = award(db, system, person_id=person_id, certification_id=cert.id)
        document = issuance.current_credential_for_award(db, made.id).document
        assert document["credentialSubject"]["id"] == HOLDER_DID

    cleared = client.post("/me/did", data={"did": "", "csrf": token}, follow_redirects=False)
    assert cleared.status_code == 303
    with sessions() as db:
        assert db.get(Person, person_id).did is None


def test_a_holder_session_is_not_a_portal_session(client, sessions, system, inbox, frozen_clock):
    address, *_ = _holder(sessions, system)
    page = _signed_in(client, sessions, inbox, address)
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/v1/people").status_code == 401

    out = client.post("/me/sign-out", data={"csrf": csrf_from(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/me/badges", follow_redirects=False).headers["location"] == "/me"


def test_staff_signed_in_are_no_holders(client, sessions, system, frozen_clock):
    user = web_user(sessions, Role.ADMIN)
    assert sign_in(client, user.email, user.password).status_code == 303
    assert client.get("/me/badges", follow_redirects=False).headers["location"] == "/me"


def test_current_badges_come_first(client, sessions, system, inbox, frozen_clock):
    address, _, _, held = _holder(sessions, system, certifications=3)
    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=held[0][0], reason="exam withdrawn")
    frozen_clock.advance(timedelta(days=1))
    with sessions() as db, db.begin():
        awards.suspend_award(db, system, award_id=held[1][0], reason="under review")
    page = _signed_in(client, sessions, inbox, address)
    order = re.findall(r'data-award="(awd_\w+)" data-status="(\w+)"', page.text)
    assert order == [
        (held[2][0], "active"),
        (held[1][0], "suspended"),
        (held[0][0], "revoked"),
    ]
    assert page.text.count("linkedin.com/profile/add") == 1  # only the valid badge offers it
