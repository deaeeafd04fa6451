"""Every form the portal takes needs the session's CSRF token: walked over the app's routes, so
a new POST route that forgets it fails here without anyone adding it to a list."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from charter.core.auth import Role
from charter.web import portal
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import build_world

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
EXPIRED = "This form is no longer valid."
PARAMETER = re.compile(r"{([^}:]+)(:[^}]+)?}")
# Forms carrying every field a portal form names, but no token or a wrong one.
TOKENLESS = {
    "reason": "because",
    "note": "done",
    "name": "a key",
    "role": "auditor",
    "active": "no",
    "sha256": "0" * 64,
}
FORGED = ({}, {"csrf": ""}, {"csrf": "forged"})


def _routes_under(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route in ``routes``, and in the routers they include, depth first."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield route
        if included is not None:
            yield from _routes_under(included.routes)


def _portal_posts(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The paths of the POST routes of the portal's router, as the app serves it."""
    mounted = [
        getattr(route, "original_router", None) is portal.router
        for route in _routes_under(app.routes)
    ]
    assert any(mounted), "the app does not serve the portal's router"
    paths = sorted(
        route.path
        for route in _routes_under(portal.router.routes)
        if isinstance(route, APIRoute) and "POST" in route.methods
    )
    assert paths, "no POST route found under the portal's router"
    return paths


def _concrete(path: str) -> str:
    """The route's path with a made-up value for each parameter."""
    return PARAMETER.sub(lambda match: f"{match.group(1)}_01JAAAAAAAAAAAAAAAAAAAAAAA", path)


def test_the_walk_finds_the_portal_forms(app):
    paths = _portal_posts(app)
    # Not a sample: each of these is one kind of form, and every one must be in the walk.
    for expected in (
        "/account/sign-out-everywhere",
        "/awards/{award_id}/revoke",
        "/certifications",
        "/imports",
        "/imports/confirm",
        "/licenses",
        "/licenses/{license_id}/renew",
        "/licenses/{license_id}/{action}",
        "/licensing/products",
        "/licensing/templates",
        "/licensing/templates/{template_id}/agreements",
        "/licensing/templates/{template_id}/versions",
        "/partners/{partner_id}/listing",
        "/program/{partner_id}/invite",
        "/users/{user_id}/api-keys",
        "/webhooks/{endpoint_id}",
        "/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
        "/webhooks/{endpoint_id}/rotate-secret",
    ):
        assert expected in paths
    assert len(paths) >= 41


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PROGRAM_MANAGER, Role.PARTNER_ADMIN])
def test_every_portal_form_refuses_a_post_without_the_token(client, sessions, app, role):
    world = build_world(sessions)
    user = web_user(sessions, role, partner_id=world.harbor_id if role.is_partner_role else None)
    sign_in(client, user.email, user.password)
    for path in _portal_posts(app):
        for token in FORGED:
            response = client.post(
                _concrete(path),
                data={**TOKENLESS, **token},
                headers=BROWSER,
                follow_redirects=False,
            )
            label = f"POST {path} with {token or 'no token'} as {role}"
            assert response.status_code == 403, label
            assert EXPIRED in response.text, label
    # Nothing was done: signing out everywhere, among the forms, did not sign this user out.
    assert client.get("/dashboard", follow_redirects=False).status_code == 200


def test_every_portal_form_sends_the_signed_out_to_sign_in_or_refuses_them(client, app):
    paths = _portal_posts(app)
    for path in paths:
        # No session at all: no token to match, so the form is refused before anything else.
        response = client.post(_concrete(path), data=TOKENLESS, headers=BROWSER)
        assert response.status_code == 403, path
        assert EXPIRED in response.text, path
    # A session's token without a sign-in (as the sign-in page hands out) leads to signing in.
    token = csrf_from(client.get("/login").text)
    for path in paths:
        response = client.post(
            _concrete(path),
            data={**TOKENLESS, "csrf": token},
            headers=BROWSER,
            follow_redirects=False,
        )
        assert response.status_code == 303, path
        assert response.headers["location"] == "/login", path
