"""Users and API keys: hashing, scopes, expiry, revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from charter.accounts import service as accounts
from charter.accounts import sessions
from charter.accounts.models import ApiKey, User
from charter.core import clock
from charter.core.auth import ROLE_PERMISSIONS, Permission, Principal, Role, verify_password
from charter.core.errors import Conflict, Forbidden, Invalid, Unauthorized
from charter.core.models import Event
from tests.partners.factories import partner


def _user(db, role=Role.PROGRAM_MANAGER, email="pm@example.com"):
    return accounts.create_user(
        db,
        Principal.system(),
        email=email,
        display_name="Pat",
        role=role,
        password="a long passphrase!",
    )


def test_passwords_are_stored_as_argon2id(db):
    user = _user(db)
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "a long passphrase!")
    assert not verify_password(user.password_hash, "wrong")


def test_authenticate_checks_the_password(db):
    _user(db)
    assert accounts.authenticate(db, email="PM@example.com", password="a long passphrase!").email
    with pytest.raises(Unauthorized):
        accounts.authenticate(db, email="pm@example.com", password="nope")
    with pytest.raises(Unauthorized):
        accounts.authenticate(db, email="nobody@example.com", password="a long passphrase!")


def test_malformed_email_names_the_field(db):
    with pytest.raises(Invalid) as caught:
        _user(db, email="not an email")
    assert caught.value.errors[0].field == "email"
    assert db.scalar(select(User.id)) is None


def test_duplicate_email_is_a_conflict(db):
    _user(db)
    with pytest.raises(Conflict):
        _user(db, email="Pm@Example.com")


def test_partner_roles_need_a_partner(db):
    with pytest.raises(Invalid) as caught:
        _user(db, role=Role.PARTNER_ADMIN)
    assert caught.value.errors[0].field == "partner_id"


def test_only_admins_create_users(db):
    pm = accounts.principal_for(_user(db))
    with pytest.raises(Forbidden):
        accounts.create_user(
            db, pm, email="x@example.com", display_name="X", role=Role.ADMIN, password=None
        )


def test_api_key_is_shown_once_and_stored_hashed(db):
    user = _user(db)
    key, token = accounts.create_api_key(db, Principal.system(), user_id=user.id, name="ci")
    stored = db.get(ApiKey, key.id)
    assert token.split(".", 1)[1] not in stored.secret_hash
    principal = accounts.principal_from_token(db, token)
    assert principal.user_id == user.id
    assert principal.kind == "api_key"


def test_scoped_key_narrows_permissions(db):
    user = _user(db)
    _, token = accounts.create_api_key(
        db, Principal.system(), user_id=user.id, name="read", scopes=["partners:read"]
    )
    principal = accounts.principal_from_token(db, token)
    assert principal.can(Permission.PARTNERS_READ)
    assert not principal.can(Permission.PARTNERS_WRITE)


def test_scope_beyond_the_role_is_refused(db):
    user = _user(db, role=Role.AUDITOR, email="a@example.com")
    with pytest.raises(Invalid) as caught:
        accounts.create_api_key(
            db, Principal.system(), user_id=user.id, name="x", scopes=["awards:issue"]
        )
    assert caught.value.errors[0].field == "scopes.0"


def test_expired_and_revoked_keys_are_refused(db, frozen_clock):
    user = _user(db)
    _key, token = accounts.create_api_key(
        db,
        Principal.system(),
        user_id=user.id,
        name="short",
        expires_at=clock.now() + timedelta(days=1),
    )
    assert accounts.principal_from_token(db, token)
    frozen_clock.advance(timedelta(days=2))
    with pytest.raises(Unauthorized, match="expired"):
        accounts.principal_from_token(db, token)
    other, other_token = accounts.create_api_key(db, Principal.system(), user_id=user.id, name="b")
    accounts.revoke_api_key(db, Principal.system(), key_id=other.id)
    with pytest.raises(Unauthorized, match="revoked"):
        accounts.principal_from_token(db, other_token)


def test_tampered_token_is_refused(db):
    user = _user(db)
    _, token = accounts.create_api_key(db, Principal.system(), user_id=user.id, name="x")
    with pytest.raises(Unauthorized):
        accounts.principal_from_token(db, token[:-2] + "zz")
    with pytest.raises(Unauthorized):
        accounts.principal_from_token(db, "garbage")


def test_key_changes_are_logged_without_the_secret(db):
    user = _user(db)
    _, token = accounts.create_api_key(db, Principal.system(), user_id=user.id, name="x")
    db.flush()
    payloads = [str(event.payload) for event in db.scalars(select(Event))]
    assert any("api_key" in str(e.type) for e in db.scalars(select(Event)))
    assert all(token.split(".", 1)[1] not in payload for payload in payloads)


def test_api_keys_over_http(client, make):
    admin = make.login(Role.ADMIN)
    created = client.post(
        "/api/v1/api-keys",
        json={"name": "deploy", "scopes": ["partners:read"]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).is_success
    listed = client.get("/api/v1/api-keys", headers=admin.headers).json()
    assert all("token" not in item for item in listed)
    key_id = created.json()["id"]
    assert client.post(f"/api/v1/api-keys/{key_id}/revoke", headers=admin.headers).is_success
    after = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    assert after.json()["detail"] == "API key has been revoked"


def test_a_key_scoped_to_managing_keys_mints_no_wider_key(client, make):
    manager = make.login(Role.PROGRAM_MANAGER, scopes=["api_keys:manage"])
    minted = client.post("/api/v1/api-keys", json={"name": "minted"}, headers=manager.headers)
    assert minted.status_code == 201, minted.text
    assert minted.json()["scopes"] == ["api_keys:manage"]
    headers = {"Authorization": f"Bearer {minted.json()['token']}"}
    people = client.get("/api/v1/people", headers=headers)
    assert people.status_code == 403


def test_a_scoped_key_asking_for_more_scopes_is_refused_naming_the_field(client, make):
    manager = make.login(Role.PROGRAM_MANAGER, scopes=["api_keys:manage", "partners:read"])
    wider = client.post(
        "/api/v1/api-keys",
        json={"name": "wider", "scopes": ["partners:read", "people:read"]},
        headers=manager.headers,
    )
    assert wider.status_code == 403, wider.text
    assert wider.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in wider.json()["errors"]] == ["scopes"]
    assert "people:read" in wider.json()["detail"]
    listed = client.get("/api/v1/api-keys", headers=manager.headers).json()
    assert [key["name"] for key in listed] == ["tests"]
    narrower = client.post(
        "/api/v1/api-keys",
        json={"name": "narrower", "scopes": ["partners:read"]},
        headers=manager.headers,
    )
    assert narrower.status_code == 201, narrower.text
    assert narrower.json()["scopes"] == ["partners:read"]


def test_a_key_without_scopes_takes_the_role_when_made_by_the_user(db):
    user = _user(db)
    own = accounts.principal_for(user)
    key, _ = accounts.create_api_key(db, own, user_id=user.id, name="full")
    assert set(key.scopes) == {p.value for p in ROLE_PERMISSIONS[Role.PROGRAM_MANAGER]}
    scoped, _ = accounts.create_api_key(
        db, own, user_id=user.id, name="scoped", scopes=["api_keys:manage", "awards:read"]
    )
    through_key = accounts.principal_for(user, api_key=scoped)
    child, _ = accounts.create_api_key(db, through_key, user_id=user.id, name="child")
    assert child.scopes == ["api_keys:manage", "awards:read"]


def test_role_changes_keep_partner_and_vendor_roles_apart(db):
    user = _user(db)
    with pytest.raises(Invalid) as caught:
        accounts.change_role(db, Principal.system(), user_id=user.id, role=Role.PARTNER_ADMIN)
    assert caught.value.errors[0].field == "role"
    changed = accounts.change_role(db, Principal.system(), user_id=user.id, role=Role.AUDITOR)
    assert changed.role == "auditor"
    [event] = db.scalars(select(Event).where(Event.type == "user.role_changed"))
    assert event.payload["previous_role"] == "program_manager"


def test_users_cannot_disable_themselves_and_others_need_an_admin(db):
    admin = _user(db, role=Role.ADMIN, email="admin@example.com")
    pm = _user(db)
    with pytest.raises(Conflict):
        accounts.disable_user(db, accounts.principal_for(admin), user_id=admin.id)
    with pytest.raises(Forbidden):
        accounts.disable_user(db, accounts.principal_for(pm), user_id=admin.id)
    accounts.disable_user(db, accounts.principal_for(admin), user_id=pm.id, reason="left")
    with pytest.raises(Unauthorized):
        accounts.authenticate(db, email="pm@example.com", password="a long passphrase!")
    accounts.enable_user(db, accounts.principal_for(admin), user_id=pm.id)
    assert accounts.authenticate(db, email="pm@example.com", password="a long passphrase!")


def test_password_changes_check_the_current_one_and_log_no_secret(db):
    user = _user(db)
    own = accounts.principal_for(user)
    with pytest.raises(Invalid) as caught:
        accounts.change_password(db, own, user_id=user.id, new_password="a new long passphrase")
    assert caught.value.errors[0].field == "current_password"
    with pytest.raises(Invalid) as caught:
        accounts.change_password(
            db, own, user_id=user.id, current_password="a long passphrase!", new_password="short"
        )
    assert caught.value.errors[0].field == "new_password"
    other = _user(db, role=Role.PROGRAM_MANAGER, email="other@example.com")
    with pytest.raises(Forbidden):
        accounts.change_password(db, own, user_id=other.id, new_password="a new long passphrase")
    accounts.change_password(
        db,
        own,
        user_id=user.id,
        current_password="a long passphrase!",
        new_password="a new long passphrase",
    )
    db.flush()
    [event] = db.scalars(select(Event).where(Event.type == "user.password_changed"))
    assert "passphrase" not in str(event.payload)
    assert accounts.authenticate(db, email="pm@example.com", password="a new long passphrase")


def test_terminating_a_firms_access_ends_its_users_sessions(db):
    firm = partner(db, Principal.system(), status="active")
    user = accounts.create_user(
        db,
        Principal.system(),
        email="padm@example.com",
        display_name="Pia",
        role=Role.PARTNER_ADMIN,
        password="a long passphrase!",
        partner_id=firm.id,
    )
    token = sessions.start_session(db, user)
    assert sessions.session_principal(db, token).principal.user_id == user.id
    accounts.disable_partner_access(db, Principal.system(), partner_id=firm.id, reason="ended")
    with pytest.raises(Unauthorized):
        sessions.session_principal(db, token)
