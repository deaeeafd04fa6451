"""Every portal route with every role, and signed out: a page, a 403/404 page or the sign-in
redirect; never another firm's data, never a 500. And what auditors see: every page, no form."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from charter.core.auth import Role
from tests.web.admin_world import pending_request
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.licensing_world import licensed_firm
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
    by_role: tuple[tuple[Role, int], ...] = ()
    """Roles whose answer differs from their kind's (staff or partner)."""
    people_write: bool = False
    # A firm's address is also its badges' subject: public, without a session.
    anonymous: int | None = None


READERS = (Role.GOVERNANCE_OWNER, Role.AUDITOR)


def _readers(status: int) -> tuple[tuple[Role, int], ...]:
    return tuple((role, status) for role in READERS)


@dataclass(frozen=True)
class Requests:
    """A pending approval request of each firm, and Harbor's license."""

    harbor: str
    quill: str
    license: str
    alert: str
    template: str


def _requests(sessions, world: World) -> Requests:
    ids = []
    for firm in (world.harbor_id, world.quill_id):
        requester = web_user(sessions, Role.PARTNER_ADMIN, partner_id=firm)
        ids.append(pending_request(sessions, requester_id=requester.id, partner_id=firm))
    licensed = licensed_firm(sessions, partner_id=world.harbor_id)
    return Requests(*ids, licensed.license_id, licensed.alert_id, licensed.template_id)


def _managers(ok: int) -> tuple[tuple[Role, int], ...]:
    return (
        (Role.ADMIN, ok),
        (Role.PROGRAM_MANAGER, ok),
        (Role.GOVERNANCE_OWNER, 403),
        (Role.AUDITOR, 403),
    )


def _admin_only(ok: int) -> tuple[tuple[Role, int], ...]:
    return (
        (Role.ADMIN, ok),
        (Role.PROGRAM_MANAGER, 403),
        (Role.GOVERNANCE_OWNER, 403),
        (Role.AUDITOR, 403),
    )


def _routes(world: World, requests: Requests) -> list[Route]:
    deciders = ((Role.PROGRAM_MANAGER, 403), (Role.AUDITOR, 403))
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
        Route("GET", "/certifications", 200, 404),
        Route("GET", "/certifications/new", 200, 404, by_role=_readers(404)),
        Route("GET", f"/certifications/{world.certification_id}", 200, 404),
        Route("GET", "/certifications/crt_01JAAAAAAAAAAAAAAAAAAAAAAA", 404, 404),
        Route("POST", "/certifications", 422, 404, by_role=_readers(403)),
        Route(
            "POST",
            f"/certifications/{world.certification_id}/criteria",
            422,
            404,
            by_role=_readers(403),
        ),
        Route(
            "GET",
            f"/people/{world.engineer_ids[0]}/assessments/new",
            200,
            404,
            by_role=_readers(404),
        ),
        Route(
            "POST",
            f"/people/{world.engineer_ids[0]}/assessments",
            422,
            404,
            by_role=_readers(403),
        ),
        Route(
            "GET", f"/people/{world.engineer_ids[0]}/awards/new", 200, 404, by_role=_readers(404)
        ),
        Route(
            "GET",
            f"/people/{world.engineer_ids[0]}/awards/new?certification_id={world.certification_id}",
            200,
            404,
            by_role=_readers(404),
        ),
        Route("POST", f"/people/{world.engineer_ids[0]}/awards", 422, 404, by_role=_readers(403)),
        Route("GET", f"/awards/{world.award_ids[0]}", 200, 404),
        Route("GET", f"/awards/{world.quill_award_id}", 200, 404),
        Route("GET", "/awards/awd_01JAAAAAAAAAAAAAAAAAAAAAAA", 404, 404),
        Route(
            "POST",
            f"/awards/{world.award_ids[0]}/suspend",
            422,
            404,
            by_role=((Role.AUDITOR, 403),),
        ),
        Route(
            "POST",
            f"/awards/{world.award_ids[0]}/reinstate",
            422,
            404,
            by_role=((Role.AUDITOR, 403),),
        ),
        Route("POST", f"/awards/{world.award_ids[1]}/renew", 303, 404, by_role=_readers(403)),
        Route("GET", "/imports", 200, 404),
        Route("POST", "/imports", 422, 404),
        Route("POST", "/imports/confirm", 409, 404),
        Route("POST", "/imports/rejected", 409, 404),
        Route("GET", "/users", 0, 404, by_role=_admin_only(200)),
        Route("GET", "/users?role=auditor&disabled=no&q=a", 0, 404, by_role=_admin_only(200)),
        Route("GET", "/users?role=nobody", 0, 404, by_role=_admin_only(422)),
        Route("GET", f"/users/{world.engineer_ids[0]}", 0, 404, by_role=_admin_only(404)),
        Route("POST", "/users", 0, 404, by_role=_admin_only(422)),
        Route(
            "POST",
            "/users/usr_01JAAAAAAAAAAAAAAAAAAAAAAA/disable",
            0,
            404,
            by_role=_admin_only(404),
        ),
        Route("GET", "/account/api-keys", 200, 200),
        Route("POST", "/account/api-keys", 422, 422),
        Route("POST", "/account/api-keys/key_01JAAAAAAAAAAAAAAAAAAAAAAA/revoke", 404, 404),
        Route("GET", "/approvals", 200, 200),
        Route("GET", "/approvals?state=pending&type=test.partner_website", 200, 200),
        Route("GET", f"/approvals/{requests.harbor}", 200, 200),
        Route("GET", f"/approvals/{requests.quill}", 200, 404),
        Route("GET", "/approvals/apr_01JAAAAAAAAAAAAAAAAAAAAAAA", 404, 404),
        Route("POST", f"/approvals/{requests.harbor}/approve", 422, 403, by_role=deciders),
        Route("POST", f"/approvals/{requests.quill}/reject", 422, 404, by_role=deciders),
        Route("GET", "/events", 200, 403),
        Route("GET", f"/events?partner_id={world.quill_id}&type=partner.created", 200, 403),
        Route("GET", "/events?occurred_from=2026-01-01&occurred_to=2026-12-31&before=9", 200, 403),
        Route("GET", "/events?occurred_to=never", 422, 403),
        Route("GET", "/events?verify=now", 200, 403),
        Route("GET", "/events?type=%00&subject_id=%00&partner_id=%00", 422, 403),
        Route("GET", "/approvals?type=%00", 422, 422),
        Route("GET", "/licenses?partner_id=%00&product_id=%00", 422, 422),
        Route("GET", "/licensing/agreements?partner_id=%00", 422, 422),
        Route("GET", "/users?partner_id=%00&q=%00", 0, 404, by_role=_admin_only(422)),
        Route("GET", "/licensing/agreements", 200, 200),
        Route("GET", f"/licensing/agreements?partner_id={world.quill_id}&status=active", 200, 200),
        Route("GET", "/licenses", 200, 200),
        Route("GET", f"/licenses?partner_id={world.quill_id}&status=active", 200, 200),
        Route("GET", f"/licenses/{requests.license}", 200, 200),
        Route("GET", "/licenses/lic_01JAAAAAAAAAAAAAAAAAAAAAAA", 404, 404),
        Route("POST", f"/licenses/{requests.license}/suspend", 0, 403, by_role=_managers(422)),
        Route(
            "POST",
            f"/licenses/{requests.license}/alerts/{requests.alert}/resolve",
            0,
            403,
            by_role=_managers(422),
        ),
        Route(
            "POST",
            f"/licenses/{requests.license}/key",
            200,
            403,
            by_role=((Role.GOVERNANCE_OWNER, 403), (Role.AUDITOR, 403), (Role.PARTNER_ADMIN, 200)),
        ),
        Route("POST", f"/licenses/{requests.license}/renew", 303, 404, by_role=_readers(403)),
        Route("GET", "/licenses/new", 200, 404, by_role=_readers(404)),
        Route("GET", "/licenses/new?agreement_id=%00", 200, 404, by_role=_readers(404)),
        Route("POST", "/licenses", 422, 404, by_role=_readers(403)),
        Route("GET", "/licensing/products", 200, 404),
        Route("POST", "/licensing/products", 422, 404, by_role=_readers(403)),
        Route("GET", "/licensing/templates/new", 200, 404, by_role=_readers(404)),
        Route("POST", "/licensing/templates", 422, 404, by_role=_readers(403)),
        Route("GET", f"/licensing/templates/{requests.template}", 200, 404),
        Route("GET", "/licensing/templates/agt_01JAAAAAAAAAAAAAAAAAAAAAAA", 404, 404),
        Route(
            "POST",
            f"/licensing/templates/{requests.template}/versions",
            422,
            404,
            by_role=_readers(403),
        ),
        Route(
            "POST",
            f"/licensing/templates/{requests.template}/agreements",
            422,
            404,
            by_role=_readers(403),
        ),
        Route("GET", "/webhooks", 0, 404, by_role=_managers(200)),
        Route("POST", "/webhooks", 0, 404, by_role=_managers(422)),
        Route("GET", "/webhooks/whk_01JAAAAAAAAAAAAAAAAAAAAAAA", 0, 404, by_role=_managers(404)),
        Route(
            "POST",
            "/webhooks/whk_01JAAAAAAAAAAAAAAAAAAAAAAA/active",
            0,
            404,
            by_role=_managers(422),
        ),
        Route("POST", "/webhooks/whk_01JAAAAAAAAAAAAAAAAAAAAAAA", 0, 404, by_role=_managers(404)),
        Route(
            "POST",
            "/webhooks/whk_01JAAAAAAAAAAAAAAAAAAAAAAA/rotate-secret",
            0,
            404,
            by_role=_managers(404),
        ),
        Route(
            "POST",
            "/webhooks/whk_01JAAAAAAAAAAAAAAAAAAAAAAA/deliveries/whd_01JAAAAAAAAAAAAAAAAAAAAAAA/replay",
            0,
            404,
            by_role=_managers(404),
        ),
        Route("GET", "/taxonomy", 200, 404),
        Route("POST", "/taxonomy", 0, 404, by_role=_managers(422)),
        Route("POST", "/taxonomy/track/sales", 0, 404, by_role=_managers(422)),
        Route("POST", "/taxonomy/planet/mars/retire", 0, 404, by_role=_managers(422)),
        Route("POST", "/taxonomy/region/emea/move", 0, 404, by_role=_managers(422)),
        Route("GET", f"/program/{world.harbor_id}", 200, 200),
        Route("GET", f"/program/{world.quill_id}", 200, 404),
        Route("GET", "/program/prt_01JAAAAAAAAAAAAAAAAAAAAAAA", 404, 404),
        Route("GET", f"/licensing/{world.harbor_id}", 200, 200),
        Route("GET", f"/licensing/{world.quill_id}", 200, 404),
        Route("GET", "/licensing/%00", 404, 404),
        # An invitation without its fields is refused by the form's checks (422), not saved.
        Route("POST", f"/program/{world.harbor_id}/invite", 422, 422, people_write=True),
        Route("POST", f"/program/{world.quill_id}/invite", 422, 404, people_write=True),
        Route(
            "POST",
            f"/program/{world.quill_id}/people/{world.quill_person_id}/left",
            303,
            404,
            people_write=True,
        ),
        Route(
            "POST",
            f"/licensing/{world.harbor_id}/licenses/lic_01JAAAAAAAAAAAAAAAAAAAAAAA/key",
            404,
            404,
        ),
    ]


def _expected(route: Route, role: Role) -> int:
    overrides = dict(route.by_role)
    if role in overrides:
        return overrides[role]
    if route.people_write and role in (Role.GOVERNANCE_OWNER, Role.AUDITOR, Role.PARTNER_MEMBER):
        # Members are refused even on their own firm; another firm stays a 404 page.
        return 404 if route.partner == 404 and role is Role.PARTNER_MEMBER else 403
    if role in PARTNER:
        return route.partner
    if route.lifecycle_only and role in (Role.GOVERNANCE_OWNER, Role.AUDITOR):
        return 403
    return dict(route.by_role).get(role, route.staff)


def _secrets_of(world: World) -> list[str]:
    return [world.quill_id, world.quill_name, world.quill_person_id, world.quill_person_name]


def _call(client, route: Route, csrf: str):
    if route.method == "POST":
        return client.post(route.path, data={"csrf": csrf}, headers=BROWSER, follow_redirects=False)
    return client.get(route.path, headers=BROWSER, follow_redirects=False)


@pytest.mark.parametrize("role", [None, *Role])
def test_every_route_with_every_role(client, sessions, role):
    world = build_world(sessions)
    requests = _requests(sessions, world)
    csrf = "none"
    if role is not None:
        user = web_user(
            sessions, role, partner_id=world.harbor_id if role.is_partner_role else None
        )
        sign_in(client, user.email, user.password)
        csrf = csrf_from(client.get("/dashboard").text)
    for route in _routes(world, requests):
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
        f"/program/{world.harbor_id}",
        f"/licensing/{world.harbor_id}",
    ]
    if role in STAFF:
        paths += [
            "/partners",
            f"/partners/{world.quill_id}",
            "/certifications",
            f"/certifications/{world.certification_id}",
            "/imports",
            "/events",
            "/events?verify=now",
            "/taxonomy",
        ]
        licensed = licensed_firm(sessions, partner_id=world.harbor_id)
        paths += [
            "/licenses",
            f"/licenses/{licensed.license_id}",
            "/licensing/agreements",
            "/licensing/products",
            f"/licensing/templates/{licensed.template_id}",
        ]
    if role is Role.AUDITOR:
        paths.append(f"/awards/{world.award_ids[0]}")
    if role is not Role.GOVERNANCE_OWNER:
        requests = _requests(sessions, world)
        paths += ["/approvals", f"/approvals/{requests.harbor}"]
    for path in paths:
        page = client.get(path)
        assert page.status_code == 200, path
        forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page.text)
        allowed = set(SESSION_FORMS)
        if role is Role.PARTNER_ADMIN and path == f"/program/{world.harbor_id}":
            # A firm's admin manages its people: invite, and record who left. Nothing else.
            allowed |= {f"/program/{world.harbor_id}/invite"} | {
                f"/program/{world.harbor_id}/people/{person}/left" for person in world.engineer_ids
            }
        if role is Role.PARTNER_ADMIN and path == f"/licensing/{world.harbor_id}":
            # Showing a key is a reading the events log records, the one form a firm's admin
            # gets there (members, who may not read keys, get none).
            allowed |= {form for form in forms if form.endswith("/key")}
        assert set(forms) <= allowed, f"{path} offers {forms}"


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
