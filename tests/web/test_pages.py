"""Sign-in, sign-out, CSRF, the dashboard's scope and the pages' escaping."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session, sessionmaker

from charter.accounts.models import User
from charter.core.auth import Principal, Role
from charter.credentials import service as credentials
from charter.credentials.schemas import AwardCreate
from charter.partners import firms as partners
from charter.partners.models import Partner
from charter.partners.people import create_person
from charter.partners.schemas import PartnerCreate, PersonCreate
from charter.programs import service as programs
from charter.programs.schemas import CertificationCreate
from tests.codes import PartnerType, Region, Track
from tests.web.helpers import csrf_from, sign_in, web_user

SYSTEM = Principal.system("tests")


def _partner(sessions: sessionmaker[Session], name: str, *, people: int = 0) -> Partner:
    with sessions() as db, db.begin():
        partner = partners.create_partner(
            db,
            SYSTEM,
            data=PartnerCreate(
                name=name, type=PartnerType.RESELLER, regions=[Region.EMEA], country="DE"
            ),
        )
        for n in range(people):
            create_person(
                db,
                SYSTEM,
                data=PersonCreate(
                    given_name="Ada",
                    family_name=f"Staff{n}",
                    track=Track.TECHNICAL,
                    partner_id=partner.id,
                    emails=[f"ada{n}.{partner.id[4:].lower()}@example.com"],
                ),
            )
        return partner


def _tile(html: str, label: str) -> int:
    match = re.search(r'class="figure">(\d+)</span><span class="label">' + label, html)
    assert match, f"no {label!r} figure on the page"
    return int(match.group(1))


def test_home_sends_strangers_to_the_sign_in_page(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/login"


def test_sign_in_page_is_served_with_security_headers_and_our_own_css(client):
    response = client.get("/login")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]
    assert 'href="/static/charter.css"' in response.text
    css = client.get("/static/charter.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_signing_in_opens_the_dashboard_with_a_fresh_csrf_token(client, sessions):
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    before = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": user.email.upper(), "password": user.password, "csrf": before},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Program dashboard" in page.text
    assert user.display_name in page.text
    after = csrf_from(page.text)
    assert after != before
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"
    with sessions() as db:
        assert db.get(User, user.id).last_login_at is not None


@pytest.mark.parametrize(
    ("email_of", "password"),
    [
        (lambda user: user.email, "not the password at all"),
        (lambda user: "nobody@example.com", "a long web password 1"),
        (lambda user: user.email, ""),
        (lambda user: user.email, "x" * 5000),
    ],
)
def test_a_failed_sign_in_says_only_that_it_failed(client, sessions, email_of, password):
    user = web_user(sessions, Role.ADMIN)
    response = sign_in(client, email_of(user), password)
    assert response.status_code == 401
    assert "Email or password is wrong." in response.text
    assert "<form" in response.text
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_sign_in_without_the_csrf_token_is_refused(client, sessions, token):
    user = web_user(sessions, Role.ADMIN)
    client.get("/login")
    data = {"email": user.email, "password": user.password}
    if token is not None:
        data["csrf"] = token
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    with sessions() as db:
        assert db.get(User, user.id).last_login_at is None


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_sign_out_without_the_csrf_token_is_refused_and_keeps_the_session(client, sessions, token):
    user = web_user(sessions, Role.AUDITOR)
    assert sign_in(client, user.email, user.password).status_code == 303
    data = {} if token is None else {"csrf": token}
    response = client.post("/logout", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/dashboard").status_code == 200


def test_the_token_from_before_sign_in_cannot_sign_out(client, sessions):
    user = web_user(sessions, Role.AUDITOR)
    stale = csrf_from(client.get("/login").text)
    client.post(
        "/login",
        data={"email": user.email, "password": user.password, "csrf": stale},
        follow_redirects=False,
    )
    assert client.post("/logout", data={"csrf": stale}).status_code == 403
    assert client.get("/dashboard").status_code == 200


def test_signing_out_ends_the_session(client, sessions):
    user = web_user(sessions, Role.ADMIN)
    sign_in(client, user.email, user.password)
    token = csrf_from(client.get("/dashboard").text)
    response = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/login"
    # The old token died with the session.
    assert client.post("/logout", data={"csrf": token}).status_code == 403


def test_a_disabled_user_is_signed_out(client, sessions, frozen_clock):
    user = web_user(sessions, Role.ADMIN)
    sign_in(client, user.email, user.password)
    with sessions() as db, db.begin():
        db.get(User, user.id).disabled_at = frozen_clock.now()
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/login"


def test_a_partner_users_dashboard_shows_only_their_firm(client, sessions):
    own = _partner(sessions, "Harbor Analytics GmbH", people=3)
    other = _partner(sessions, "Quillfeather Systems", people=5)
    user = web_user(sessions, Role.PARTNER_ADMIN, partner_id=own.id)
    sign_in(client, user.email, user.password)
    page = client.get("/dashboard").text
    assert "Harbor Analytics GmbH" in page
    assert "Quillfeather Systems" not in page
    assert other.id not in page
    assert _tile(page, "firm") == 1
    assert _tile(page, "people") == 3
    # Partner users do not read the program's events log.
    assert 'id="recent-events"' not in page


def test_vendor_staff_see_the_whole_program(client, sessions):
    _partner(sessions, "Harbor Analytics GmbH", people=3)
    _partner(sessions, "Quillfeather Systems", people=5)
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, user.email, user.password)
    page = client.get("/dashboard").text
    assert _tile(page, "partner firms") == 2
    assert _tile(page, "people") == 8
    assert 'id="recent-events"' in page
    assert "Quillfeather Systems" in page  # as the firm of its latest events
    assert "person.created" in page or "partner.created" in page


def test_names_are_escaped_on_pages(client, sessions):
    firm = _partner(sessions, "<script>alert(1)</script>")
    for role, partner_id in ((Role.PARTNER_MEMBER, firm.id), (Role.ADMIN, None)):
        user = web_user(sessions, role, partner_id=partner_id)
        sign_in(client, user.email, user.password)
        page = client.get("/dashboard").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>" not in page
        client.post("/logout", data={"csrf": csrf_from(page)})


def test_a_failed_sign_in_echoes_the_email_escaped(client):
    response = sign_in(client, '"><img src=x onerror=alert(1)>@example.com', "whatever-password")
    assert response.status_code == 401
    assert "<img" not in response.text
    assert "&#34;&gt;&lt;img" in response.text


def _certify(sessions: sessionmaker[Session], firm: Partner, *, suspended: bool = False) -> None:
    with sessions() as db, db.begin():
        certification = programs.get_certification_by_code(db, code="NQS")
        if certification is None:
            certification = programs.create_certification(
                db,
                SYSTEM,
                data=CertificationCreate.model_validate(
                    {
                        "code": "NQS",
                        "name": "Nimbus Quickstart",
                        "track": "sales",
                        "level": "foundation",
                        "validity_days": 20,
                        "renewal_window_days": 10,
                        "criteria": {"narrative": "Attend the quickstart session."},
                    }
                ),
            )
        person = create_person(
            db,
            SYSTEM,
            data=PersonCreate(
                given_name="Lin",
                family_name="Okafor",
                track=Track.SALES,
                partner_id=firm.id,
                emails=[f"lin.{firm.id[4:].lower()}.{suspended}@example.com"],
            ),
        )
        award = credentials.issue_award(
            db, SYSTEM, data=AwardCreate(person_id=person.id, certification_id=certification.id)
        )
        if suspended:
            credentials.suspend_award(db, SYSTEM, award_id=award.id, reason="Audit in progress")


def _status_row(html: str, table: str, status: str) -> int:
    section = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    match = re.search(rf'status-{status}">{status}</span></th><td>(\d+)</td>', section)
    assert match, f"no {status} row in {table}"
    return int(match.group(1))


def test_award_figures_follow_the_viewers_scope(client, sessions):
    own = _partner(sessions, "Harbor Analytics GmbH")
    other = _partner(sessions, "Quillfeather Systems")
    _certify(sessions, own)
    _certify(sessions, own, suspended=True)
    _certify(sessions, other)

    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    page = client.get("/dashboard").text
    assert _tile(page, "active awards") == 2
    assert _tile(page, "awards expiring within 30 days") == 2
    assert _status_row(page, "awards-by-status", "suspended") == 1
    assert _status_row(page, "partners-by-status", "applicant") == 2
    client.post("/logout", data={"csrf": csrf_from(page)})

    member = web_user(sessions, Role.PARTNER_MEMBER, partner_id=own.id)
    sign_in(client, member.email, member.password)
    page = client.get("/dashboard").text
    assert _tile(page, "active awards") == 1
    assert _tile(page, "awards expiring within 30 days") == 1
    assert _status_row(page, "awards-by-status", "suspended") == 1
