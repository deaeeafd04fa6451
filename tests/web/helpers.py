"""Helpers for page tests: users with known passwords, and signing in through the form."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session, sessionmaker

from charter.accounts import service as accounts
from charter.core.auth import Principal, Role

_counter = itertools.count(1)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class WebUser:
    """A user who signs in with a password."""

    id: str
    email: str
    password: str
    display_name: str


def web_user(
    sessions: sessionmaker[Session], role: Role, *, partner_id: str | None = None
) -> WebUser:
    """Create a user of ``role`` with a known password."""
    n = next(_counter)
    email = f"web.{role.value}.{n}@example.com"
    password = f"a long web password {n}"
    with sessions() as db, db.begin():
        user = accounts.create_user(
            db,
            Principal.system("tests"),
            email=email,
            display_name=f"Web User {n}",
            role=role,
            password=password,
            partner_id=partner_id,
        )
        return WebUser(user.id, email, password, user.display_name)


def csrf_from(html: str) -> str:
    """The CSRF token in a page's forms."""
    match = _CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str) -> Response:
    """Fill in and post the sign-in form (without following the redirect)."""
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf": token},
        follow_redirects=False,
    )
