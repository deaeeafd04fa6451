"""A firm, a person and a certification named like a script render as text on every page."""

from __future__ import annotations

import pytest

from charter.core.auth import Role
from tests.web.helpers import sign_in, web_user
from tests.web.portal_world import build_world

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


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
    }
    if not role.is_partner_role:
        pages |= {"/partners": 2, f"/people?partner_id={world.harbor_id}": 2}
    for path, at_least in pages.items():
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script" not in page.text, path
        assert page.text.count(ESCAPED) >= at_least, path
