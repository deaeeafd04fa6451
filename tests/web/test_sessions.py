"""Portal sessions end on the server: a copy of the cookie is worthless once they have ended."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from charter.accounts.models import UserSession
from charter.core.auth import Role
from tests.web.helpers import csrf_from, sign_in, web_user

COOKIE = "charter_session"


def _signed_in_browser(app, user) -> TestClient:
    browser = TestClient(app, raise_server_exceptions=False)
    assert sign_in(browser, user.email, user.password).status_code == 303
    assert browser.get("/dashboard").status_code == 200
    return browser


def _refused(app, cookie: str) -> None:
    """A browser presenting ``cookie`` is sent to sign in, and the API refuses it."""
    replay = TestClient(app, raise_server_exceptions=False, cookies={COOKIE: cookie})
    page = replay.get("/dashboard", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login"
    replay = TestClient(app, raise_server_exceptions=False, cookies={COOKIE: cookie})
    assert replay.get("/api/v1/users/me").status_code == 401


def test_a_cookie_replayed_after_sign_out_is_refused(app, sessions):
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    browser = _signed_in_browser(app, user)
    cookie = browser.cookies[COOKIE]
    replay = TestClient(app, raise_server_exceptions=False, cookies={COOKIE: cookie})
    assert replay.get("/api/v1/users/me").json()["id"] == user.id

    token = csrf_from(browser.get("/dashboard").text)
    assert browser.post("/logout", data={"csrf": token}, follow_redirects=False).is_redirect

    _refused(app, cookie)
    with sessions() as db:
        [record] = db.scalars(select(UserSession).where(UserSession.user_id == user.id))
        assert record.end_reason == "signed_out"


def test_signing_out_ends_only_that_browser(app, sessions):
    user = web_user(sessions, Role.AUDITOR)
    laptop = _signed_in_browser(app, user)
    phone = _signed_in_browser(app, user)
    token = csrf_from(laptop.get("/dashboard").text)
    laptop.post("/logout", data={"csrf": token})
    assert laptop.get("/dashboard", follow_redirects=False).status_code == 303
    assert phone.get("/dashboard").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("password", {"new_password": "a brand new password"}),
        ("role", {"role": "auditor"}),
        ("disable", {"reason": "left the company"}),
    ],
)
def test_an_admin_change_ends_every_session_of_the_user(app, client, sessions, make, path, body):
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    cookies = [_signed_in_browser(app, user).cookies[COOKIE] for _ in range(2)]
    admin = make.login(Role.ADMIN)

    changed = client.post(f"/api/v1/users/{user.id}/{path}", json=body, headers=admin.headers)

    assert changed.is_success, changed.text
    for cookie in cookies:
        _refused(app, cookie)


def test_changing_ones_own_password_ends_every_session_and_the_new_one_signs_in(app, sessions):
    user = web_user(sessions, Role.GOVERNANCE_OWNER)
    other = _signed_in_browser(app, user).cookies[COOKIE]
    browser = _signed_in_browser(app, user)
    csrf = csrf_from(browser.get("/dashboard").text)
    own = browser.cookies[COOKIE]

    wrong = browser.post(
        "/api/v1/users/me/password",
        json={"current_password": "not it at all", "new_password": "my new long password"},
        headers={"X-CSRF-Token": csrf},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "current_password"
    assert browser.get("/dashboard").status_code == 200

    changed = browser.post(
        "/api/v1/users/me/password",
        json={"current_password": user.password, "new_password": "my new long password"},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status_code == 204, changed.text
    _refused(app, own)
    _refused(app, other)
    fresh = TestClient(app, raise_server_exceptions=False)
    assert sign_in(fresh, user.email, user.password).status_code == 401
    assert sign_in(fresh, user.email, "my new long password").status_code == 303


def test_a_session_idle_longer_than_its_lifetime_ends_on_the_server(
    app, sessions, settings, frozen_clock
):
    user = web_user(sessions, Role.AUDITOR)
    browser = _signed_in_browser(app, user)
    frozen_clock.advance(timedelta(minutes=10))
    assert browser.get("/dashboard").status_code == 200  # in use: seen anew
    with sessions() as db:
        record = db.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
        assert record.last_seen_at == frozen_clock.now()
    frozen_clock.advance(timedelta(seconds=settings.session_max_age_seconds - 60))
    assert browser.get("/dashboard").status_code == 200
    frozen_clock.advance(timedelta(seconds=settings.session_max_age_seconds + 1))
    assert browser.get("/dashboard", follow_redirects=False).status_code == 303


def test_users_see_and_end_their_own_sessions(app, sessions):
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    elsewhere = _signed_in_browser(app, user).cookies[COOKIE]
    browser = _signed_in_browser(app, user)
    listed = browser.get("/api/v1/users/me/sessions").json()
    assert len(listed) == 2
    assert all("secret" not in key for item in listed for key in item)
    assert all(item["ended_at"] is None for item in listed)
    csrf = csrf_from(browser.get("/dashboard").text)

    ended = browser.post("/api/v1/users/me/sessions/end", headers={"X-CSRF-Token": csrf})

    assert ended.json() == {"ended": 2}
    _refused(app, elsewhere)
    assert browser.get("/dashboard", follow_redirects=False).status_code == 303


def test_public_pages_do_not_read_or_write_the_session(client, sessions):
    user = web_user(sessions, Role.AUDITOR)
    assert sign_in(client, user.email, user.password).status_code == 303
    response = client.get("/did.json")
    assert "set-cookie" not in response.headers
    assert "cookie" not in response.headers.get("vary", "").lower()
