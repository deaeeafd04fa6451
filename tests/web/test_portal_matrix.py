"""Every portal route with every role, and signed out: a page, a 403/404 page or the sign-in
redirect; never another firm's data, never a 500. And what auditors see: every page, no form."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from charter.core.auth import Role
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import World, build_world

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
STAFF = (Role.ADMIN, Role.PROGRAM_MANAGER, Role.GOVERNANCE_OWNER, Role.AUDITOR)
PARTNER = (Role.PARTNER_ADMIN, Role.PARTNER_MEMBER)
SESSION_FORMS = {"/logout", "/account/sign-out-everywhere"}


@dataclass(frozen=True)
class Route:
    """A portal route, and what each kind of visitor gets."""

    method: str
    path: str
    staff: int
    partner: int
    lifecycle_only: bool = False
    # A firm's address is also its badges' subject: public, without a session.
    anonymous: int | None = None


def _routes(world: World) -> list[Route]:
    return [
        Route("GET", "/dashboard", 200, 200),
        Route("GET", "/account", 200, 200),
        Route("GET", "/partners", 200, 404),
        Route("GET", "/partners?q=a&status=active&type=reseller&region=emea&tier=gold", 200, 404),
        Route("GET", "/partners?format=csv", 200, 404),
        Route("GET", f"/partners/{world.harbor_id}", 200, 200, anonymous=200),
        Route("GET", f"/partners/{world.quill_id}", 200, 404, anonymous=200),
        Route("GET", "/partners/prt_01JAAAAAAAAAAAAAAAAAAAAAAA", 404, 404, anonymous=404),
        Route("GET", "/partners/%00", 404, 404, anonymous=404),
        Route("GET", "/people", 200, 200),
        Route("GET", f"/people?partner_id={world.quill_id}&track=technical&q=a", 200, 200),
        Route("GET", "/people?format=csv", 200, 200),
        Route("GET", f"/people/{world.engineer_ids[0]}", 200, 200),
        Route("GET", f"/people/{world.quill_person_id}", 200, 404),
        Route("GET", "/people/per_01JAAAAAAAAAAAAAAAAAAAAAAA", 404, 404),
        Route("POST", f"/partners/{world.harbor_id}/evaluate", 303, 403, lifecycle_only=True),
        Route("POST", f"/partners/{world.quill_id}/evaluate", 303, 404, lifecycle_only=True),
    ]


def _expected(route: Route, role: Role) -> int:
    if role in PARTNER:
        return route.partner
    if route.lifecycle_only and role in (Role.GOVERNANCE_OWNER, Role.AUDITOR):
        return 403
    return route.staff


def _secrets_of(world: World) -> list[str]:
    return [world.quill_id, world.quill_name, world.quill_person_id, world.quill_person_name]


def _call(client, route: Route, csrf: str):
    if route.method == "POST":
        return client.post(route.path, data={"csrf": csrf}, headers=BROWSER, follow_redirects=False)
    return client.get(route.path, headers=BROWSER, follow_redirects=False)


@pytest.mark.parametrize("role", [None, *Role])
def test_every_route_with_every_role(client, sessions, role):
    world = build_world(sessions)
    csrf = "none"
    if role is not None:
        user = web_user(
            sessions, role, partner_id=world.harbor_id if role.is_partner_role else None
        )
        sign_in(client, user.email, user.password)
        csrf = csrf_from(client.get("/dashboard").text)
    for route in _routes(world):
        response = _call(client, route, csrf)
        label = f"{route.method} {route.path} as {role}"
        assert response.status_code < 500, label
        if role is None:
            if route.anonymous is not None:
                assert response.status_code == route.anonymous, label
            elif route.method == "GET":
                assert response.status_code == 303, label
                assert response.headers["location"] == "/login", label
            else:
                assert response.status_code == 403, label  # no session, no CSRF token
            continue
        assert response.status_code == _expected(route, role), label
        if response.status_code in (403, 404):
            assert response.headers["content-type"].startswith("text/html"), label
        if role in PARTNER:
            # An id the visitor typed may come back in the "not found" message; nothing else.
            for secret in (s for s in _secrets_of(world) if s not in route.path):
                assert secret not in response.text, f"{label} shows {secret}"


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.GOVERNANCE_OWNER, *PARTNER])
def test_roles_that_cannot_write_get_no_forms_that_would(client, sessions, role):
    world = build_world(sessions)
    user = web_user(sessions, role, partner_id=world.harbor_id if role.is_partner_role else None)
    sign_in(client, user.email, user.password)
    paths = [
        "/dashboard",
        "/account",
        f"/partners/{world.harbor_id}",
        "/people",
        f"/people/{world.engineer_ids[0]}",
    ]
    if role in STAFF:
        paths += ["/partners", f"/partners/{world.quill_id}"]
    for path in paths:
        page = client.get(path)
        assert page.status_code == 200, path
        forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page.text)
        assert set(forms) <= SESSION_FORMS, f"{path} offers {forms}"


def test_staff_who_may_evaluate_get_the_form_and_it_works(client, sessions):
    world = build_world(sessions)
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, user.email, user.password)
    page = client.get(f"/partners/{world.harbor_id}").text
    assert f'action="/partners/{world.harbor_id}/evaluate"' in page
    response = client.post(
        f"/partners/{world.harbor_id}/evaluate",
        data={"csrf": csrf_from(page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/partners/{world.harbor_id}"
