"""A firm, a person and a certification named like a script render as text on every page."""

from __future__ import annotations

import re

import pytest

from charter.accounts import service as accounts
from charter.accounts.models import User
from charter.core.auth import Role
from charter.db.engine import settings_of
from charter.webhooks import service as webhooks
from charter.webhooks.schemas import EndpointCreate
from tests.web.admin_world import pending_request
from tests.web.helpers import sign_in, web_user
from tests.web.licensing_world import licensed_firm
from tests.web.portal_world import SYSTEM, build_world

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
OWN_SCRIPT = re.compile(r'<script src="/static/[a-z-]+\.js" defer></script>')


@pytest.mark.parametrize("role", [Role.PROGRAM_MANAGER, Role.AUDITOR, Role.PARTNER_MEMBER])
def test_script_names_render_as_text_on_every_page(client, sessions, role):
    world = build_world(
        sessions,
        harbor_name=SCRIPT,
        quill_name=f"{SCRIPT} Quill",
        person_name=SCRIPT,
        certification_name=SCRIPT,
    )
    user = web_user(sessions, role, partner_id=world.harbor_id if role.is_partner_role else None)
    sign_in(client, user.email, user.password)
    pages = {
        "/dashboard": 1,
        f"/partners/{world.harbor_id}": 3,  # the firm, its people, its certification
        "/people": 1,
        f"/people/{world.engineer_ids[0]}": 3,  # the person, their firm, their certification
        # The firm, its people, their badges' and the expiring certifications.
        f"/program/{world.harbor_id}": 1 + 2 * 3,
        f"/licensing/{world.harbor_id}": 1,  # the firm
    }
    if not role.is_partner_role:
        pages |= {"/partners": 2, f"/people?partner_id={world.harbor_id}": 2}
        pages |= {
            "/certifications": 1,
            f"/certifications/{world.certification_id}": 3,  # title, heading, a holder
            f"/awards/{world.award_ids[0]}": 3,  # title, heading, the holder
        }
    for path, at_least in pages.items():
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script" not in OWN_SCRIPT.sub("", page.text), path
        assert page.text.count(ESCAPED) >= at_least, path


def test_script_text_renders_as_text_on_the_admin_pages(client, sessions):
    world = build_world(sessions)
    admin = web_user(sessions, Role.ADMIN)
    requester = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    with sessions() as db, db.begin():
        user = db.get(User, requester.id)
        user.display_name = SCRIPT
        accounts.create_api_key(db, SYSTEM, user_id=requester.id, name=SCRIPT)
    with sessions() as db, db.begin():
        endpoint, _secret = webhooks.create_endpoint(
            db,
            SYSTEM,
            settings_of(db),
            data=EndpointCreate(
                url="https://crm.example.com/hooks", event_types=["user.*"], description=SCRIPT
            ),
        )
    licensed_firm(sessions, partner_id=world.harbor_id, template_name=SCRIPT)
    request_id = pending_request(
        sessions, requester_id=requester.id, partner_id=world.harbor_id, justification=SCRIPT
    )
    sign_in(client, admin.email, admin.password)
    pages = {
        "/users": 1,  # the user's name
        f"/users/{requester.id}": 3,  # their name (heading, title) and their key's name
        "/approvals": 2,  # the requester's name, in the inbox and the list
        f"/approvals/{request_id}": 2,  # the requester's name and the justification
        f"/events?type={SCRIPT}": 1,  # the filter typed, back in its field
        "/licensing/agreements": 1,  # the template's name
        "/webhooks": 1,  # the endpoint's description
        f"/webhooks/{endpoint.id}": 1,
    }
    for path, at_least in pages.items():
        page = client.get(path)
        assert page.status_code == 200, path
        # The portal's own scripts are files it serves; no other script tag may appear.
        assert "<script" not in OWN_SCRIPT.sub("", page.text), path
        assert page.text.count(ESCAPED) >= at_least, path
