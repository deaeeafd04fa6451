"""Users and API keys on pages: admins list, create, change roles, disable and enable users and
end their sessions; everyone manages their own API keys, whose token is shown once. Errors come
back on the form and write nothing; forms need the session's CSRF token."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from charter.accounts.models import ApiKey, User
from charter.core.auth import Role
from charter.core.models import Event
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import build_world

TOKEN = re.compile(r'id="new-token"[^>]*value="(chk_[^"]+)"')


def _count(sessions, model) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(model))


def _user(sessions, user_id) -> User:
    with sessions() as db:
        user = db.get(User, user_id)
        db.expunge(user)
        return user


def _signed_in_admin(client, sessions):
    admin = web_user(sessions, Role.ADMIN)
    sign_in(client, admin.email, admin.password)
    return admin


def test_admins_filter_the_users_list(client, sessions):
    world = build_world(sessions)
    _signed_in_admin(client, sessions)
    member = web_user(sessions, Role.PARTNER_MEMBER, partner_id=world.harbor_id)
    auditor = web_user(sessions, Role.AUDITOR)
    page = client.get("/users?role=partner_member")
    assert page.status_code == 200
    assert member.email in page.text
    assert auditor.email not in page.text
    by_firm = client.get(f"/users?partner_id={world.harbor_id}&disabled=no&q=web.partner")
    assert member.email in by_firm.text
    assert auditor.email not in by_firm.text
    bad = client.get("/users?role=emperor")
    assert bad.status_code == 422
    assert "role" in bad.text


def test_an_admin_creates_a_user_and_mistakes_come_back_on_the_form(client, sessions):
    world = build_world(sessions)
    _signed_in_admin(client, sessions)
    token = csrf_from(client.get("/users").text)
    before = _count(sessions, User)

    missing_firm = client.post(
        "/users",
        data={
            "csrf": token,
            "email": "pat@example.com",
            "display_name": "Pat",
            "role": "partner_member",
        },
    )
    assert missing_firm.status_code == 422
    assert 'data-field="partner_id"' in missing_firm.text
    assert 'value="pat@example.com"' in missing_firm.text  # what was typed stays
    assert _count(sessions, User) == before

    no_csrf = client.post(
        "/users", data={"email": "pat@example.com", "role": "auditor"}, follow_redirects=False
    )
    assert no_csrf.status_code == 403
    assert _count(sessions, User) == before

    made = client.post(
        "/users",
        data={
            "csrf": token,
            "email": "pat@example.com",
            "display_name": "Pat",
            "role": "partner_member",
            "partner_id": world.harbor_id,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert _count(sessions, User) == before + 1
    duplicate = client.post(
        "/users", data={"csrf": token, "email": "PAT@example.com", "role": "auditor"}
    )
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.text
    assert _count(sessions, User) == before + 1


def test_an_admin_changes_a_role_disables_with_a_reason_and_enables(client, sessions):
    _signed_in_admin(client, sessions)
    target = web_user(sessions, Role.AUDITOR)
    page = client.get(f"/users/{target.id}")
    token = csrf_from(page.text)

    client.post(f"/users/{target.id}/role", data={"csrf": token, "role": "governance_owner"})
    assert _user(sessions, target.id).role == "governance_owner"
    wrong = client.post(f"/users/{target.id}/role", data={"csrf": token, "role": "partner_admin"})
    assert wrong.status_code == 422
    assert _user(sessions, target.id).role == "governance_owner"

    no_reason = client.post(f"/users/{target.id}/disable", data={"csrf": token, "reason": " "})
    assert no_reason.status_code == 422
    assert _user(sessions, target.id).disabled_at is None

    client.post(f"/users/{target.id}/disable", data={"csrf": token, "reason": "Left the company"})
    assert _user(sessions, target.id).disabled_at is not None
    with sessions() as db:
        reasons = db.scalars(
            select(Event.payload).where(
                Event.type == "user.disabled", Event.subject_id == target.id
            )
        ).all()
    assert [payload["reason"] for payload in reasons] == ["Left the company"]
    client.post(f"/users/{target.id}/enable", data={"csrf": token})
    assert _user(sessions, target.id).disabled_at is None


def test_an_admin_ends_a_users_sessions(client, sessions, app):
    from fastapi.testclient import TestClient

    target = web_user(sessions, Role.AUDITOR)
    with TestClient(app) as theirs:
        sign_in(theirs, target.email, target.password)
        assert theirs.get("/account", follow_redirects=False).status_code == 200
        _signed_in_admin(client, sessions)
        token = csrf_from(client.get(f"/users/{target.id}").text)
        client.post(f"/users/{target.id}/end-sessions", data={"csrf": token})
        assert theirs.get("/account", follow_redirects=False).status_code == 303


def test_everyone_creates_their_own_key_and_sees_the_token_once(client, sessions):
    world = build_world(sessions)
    member = web_user(sessions, Role.PARTNER_MEMBER, partner_id=world.harbor_id)
    sign_in(client, member.email, member.password)
    page = client.get("/account/api-keys")
    assert page.status_code == 200
    assert 'value="users:manage"' not in page.text  # only scopes the member holds
    token = csrf_from(page.text)

    nameless = client.post("/account/api-keys", data={"csrf": token, "name": ""})
    assert nameless.status_code == 422
    assert _count(sessions, ApiKey) == 0
    wider = client.post(
        "/account/api-keys", data={"csrf": token, "name": "ci", "scopes": ["users:manage"]}
    )
    assert wider.status_code == 422
    assert _count(sessions, ApiKey) == 0

    created = client.post(
        "/account/api-keys", data={"csrf": token, "name": "ci", "scopes": ["people:read"]}
    )
    assert created.status_code == 201
    secret = TOKEN.search(created.text).group(1)
    assert client.get("/api/v1/people", headers={"Authorization": f"Bearer {secret}"}).is_success
    again = client.get("/account/api-keys").text
    assert secret not in again
    assert "ci" in again

    with sessions() as db:
        key_id = db.scalar(select(ApiKey.id))
    client.post(f"/account/api-keys/{key_id}/revoke", data={"csrf": token})
    refused = client.get("/api/v1/people", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401


def test_an_admin_manages_another_users_keys_no_wider_than_their_role(client, sessions):
    _signed_in_admin(client, sessions)
    auditor = web_user(sessions, Role.AUDITOR)
    page = client.get(f"/users/{auditor.id}")
    assert 'value="partners:write"' not in page.text  # the auditor's role does not hold it
    token = csrf_from(page.text)
    created = client.post(
        f"/users/{auditor.id}/api-keys",
        data={
            "csrf": token,
            "name": "export",
            "scopes": ["events:read"],
            "expires_on": "2999-01-01",
        },
    )
    assert created.status_code == 200
    assert TOKEN.search(created.text)
    with sessions() as db:
        key = db.scalars(select(ApiKey)).one()
        assert (key.user_id, key.scopes) == (auditor.id, ["events:read"])
    bad_date = client.post(
        f"/users/{auditor.id}/api-keys",
        data={"csrf": token, "name": "later", "expires_on": "someday"},
    )
    assert bad_date.status_code == 422
    assert 'data-field="expires_at"' in bad_date.text
    client.post(f"/users/{auditor.id}/api-keys/{key.id}/revoke", data={"csrf": token})
    with sessions() as db:
        assert db.get(ApiKey, key.id).revoked_at is not None


def test_others_cannot_manage_users_or_revoke_someone_elses_key(client, sessions):
    _signed_in_admin(client, sessions)
    other = web_user(sessions, Role.AUDITOR)
    token = csrf_from(client.get(f"/users/{other.id}").text)
    client.post(f"/users/{other.id}/api-keys", data={"csrf": token, "name": "theirs"})
    with sessions() as db:
        key_id = db.scalar(select(ApiKey.id))
    client.post("/logout", data={"csrf": token})

    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    token = csrf_from(client.get("/account").text)
    assert client.get("/users").status_code == 403
    assert client.get(f"/users/{other.id}").status_code == 403
    assert (
        client.post(f"/users/{other.id}/disable", data={"csrf": token, "reason": "x"}).status_code
        == 403
    )
    assert (
        client.post(f"/account/api-keys/{key_id}/revoke", data={"csrf": token}).status_code == 404
    )
    with sessions() as db:
        assert db.get(ApiKey, key_id).revoked_at is None
        assert db.get(User, other.id).disabled_at is None
