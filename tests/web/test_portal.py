"""The portal's frame: navigation by permission, signing out everywhere, expired sessions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from charter.accounts.models import UserSession
from charter.core.auth import ROLE_PERMISSIONS, Permission, Principal, Role
from charter.web.navigation import SECTIONS, Audience, navigation
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import build_world

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _nav_links(html: str) -> list[str]:
    nav = html.split('<nav class="sections"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', nav)


def _principal(role: Role, partner_id: str | None = None) -> Principal:
    return Principal.for_user(user_id="usr_1", role=role, partner_id=partner_id, name="Someone")


@pytest.mark.parametrize("role", list(Role))
def test_navigation_follows_the_roles_permissions(role):
    partner_id = "prt_01ABC" if role.is_partner_role else None
    links = {item.href for item in navigation(_principal(role, partner_id), "/dashboard")}
    for section in SECTIONS:
        allowed = section.permission is None or section.permission in ROLE_PERMISSIONS[role]
        audience_fits = (
            section.audience is Audience.EVERYONE
            or (section.audience is Audience.PARTNER) == role.is_partner_role
        )
        href = section.path.format(partner_id=partner_id or "")
        assert (href in links) == (allowed and audience_fits), section.label


def test_a_role_without_a_permission_loses_its_section():
    # An API-key-narrowed principal shows that the links come from the permissions held.
    narrowed = Principal.for_user(
        user_id="usr_1",
        role=Role.AUDITOR,
        partner_id=None,
        name="Someone",
        api_key_id="key_1",
        scopes=frozenset({Permission.PARTNERS_READ}),
    )
    assert [item.href for item in navigation(narrowed, "/")] == [
        "/dashboard",
        "/partners",
        "/taxonomy",
    ]


def test_pages_show_the_user_the_sections_and_a_sign_out_form(client, sessions):
    world = build_world(sessions)
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    page = client.get("/partners").text
    assert _nav_links(page) == [
        "/dashboard",
        "/partners",
        "/people",
        "/certifications",
        "/imports",
        "/reports",
        "/taxonomy",
        "/approvals",
        "/events",
        "/licenses",
        "/licensing/agreements",
        "/licensing/products",
        "/webhooks",
    ]
    assert 'href="/partners" aria-current="page"' in page
    assert manager.display_name in page
    assert 'action="/logout"' in page
    client.post("/logout", data={"csrf": csrf_from(page)})

    member = web_user(sessions, Role.PARTNER_MEMBER, partner_id=world.harbor_id)
    sign_in(client, member.email, member.password)
    page = client.get("/dashboard").text
    assert _nav_links(page) == [
        "/dashboard",
        f"/partners/{world.harbor_id}",
        f"/program/{world.harbor_id}",
        f"/licensing/{world.harbor_id}",
        "/people",
        "/approvals",
    ]


def test_signing_out_everywhere_ends_every_session_of_the_user(app, sessions):
    from fastapi.testclient import TestClient

    user = web_user(sessions, Role.AUDITOR)
    other = web_user(sessions, Role.AUDITOR)
    with (
        TestClient(app) as laptop,
        TestClient(app) as phone,
        TestClient(app) as colleague,
    ):
        for browser, who in ((laptop, user), (phone, user), (colleague, other)):
            assert sign_in(browser, who.email, who.password).status_code == 303
        account = laptop.get("/account")
        assert account.status_code == 200
        assert "signed in on 2 browsers or devices" in account.text
        response = laptop.post(
            "/account/sign-out-everywhere",
            data={"csrf": csrf_from(account.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        for browser in (laptop, phone):
            gone = browser.get("/partners", follow_redirects=False)
            assert gone.status_code == 303
            assert gone.headers["location"] == "/login"
        assert colleague.get("/partners").status_code == 200
    with sessions() as db:
        ended = db.query(UserSession).filter(UserSession.user_id == user.id).all()
        assert len(ended) == 2
        assert all(record.ended_at is not None for record in ended)


def test_signing_out_everywhere_needs_the_csrf_token(client, sessions):
    user = web_user(sessions, Role.ADMIN)
    sign_in(client, user.email, user.password)
    response = client.post("/account/sign-out-everywhere", data={"csrf": "forged"})
    assert response.status_code == 403
    assert client.get("/account").status_code == 200


def test_an_expired_session_sends_portal_pages_to_the_sign_in_page(
    client, sessions, settings, frozen_clock
):
    world = build_world(sessions)
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, user.email, user.password)
    paths = ["/partners", f"/partners/{world.harbor_id}", "/people", "/account"]
    for path in paths:
        assert client.get(path).status_code == 200
    frozen_clock.advance(timedelta(seconds=settings.session_max_age_seconds + 1))
    firm_page = f"/partners/{world.harbor_id}"
    for path in paths:
        response = client.get(path, follow_redirects=False)
        if path == firm_page:
            # Also the subject of the firm's badges: public, so a visitor sees that page.
            assert response.status_code == 200, path
            assert 'id="firm-name"' in response.text
            continue
        assert response.status_code == 303, path
        assert response.headers["location"] == "/login"


def test_partner_users_see_their_own_firm_page_and_not_the_program_lists(client, sessions):
    world = build_world(sessions)
    admin = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    sign_in(client, admin.email, admin.password)
    own = client.get(f"/partners/{world.harbor_id}")
    assert own.status_code == 200
    assert world.harbor_name in own.text
    for path in ("/partners", f"/partners/{world.quill_id}", f"/people/{world.quill_person_id}"):
        response = client.get(path, headers=BROWSER)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert world.quill_name not in response.text
    people = client.get("/people").text
    assert world.engineer_names[0] in people
    assert world.quill_person_name not in people
