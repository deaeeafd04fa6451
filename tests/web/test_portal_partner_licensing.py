"""A firm's licensing page: licenses with keys masked (shown on request to those who may read
keys), activations, usage against caps, alerts and approval requests; never another firm's."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from charter.core.auth import Role
from charter.core.models import Event
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.partner_licensing_world import Licensed, build_licensed

BROWSER = {"Accept": "text/html"}


@pytest.fixture
def licensed(sessions, client) -> Licensed:
    return build_licensed(sessions)


def _sign_in(client, sessions, licensed: Licensed, role: Role) -> None:
    partner_id = licensed.world.harbor_id if role.is_partner_role else None
    user = web_user(sessions, role, partner_id=partner_id)
    sign_in(client, user.email, user.password)


def test_a_member_sees_the_firms_licensing_with_keys_masked_and_no_forms(
    client, sessions, licensed
):
    _sign_in(client, sessions, licensed, Role.PARTNER_MEMBER)
    page = client.get(f"/licensing/{licensed.world.harbor_id}")
    assert page.status_code == 200
    text = page.text
    assert "Harbor Suite" in text
    assert licensed.key not in text
    assert re.search(r'<code class="masked-key">[^<]+…</code>', text)
    assert "1 of 3 in use" in text
    assert licensed.customer in text
    assert re.search(r'data-metric="api_calls" class="over">api_calls: 130 of 100 this month', text)
    assert "activation burst" in text
    assert "A customer&#39;s Tokyo office" in text
    forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', text)
    assert set(forms) == {"/logout"}
    # Nothing of Lantern's.
    for secret in (licensed.other_license_id, "Lantern Secret Customer", "sharing"):
        assert secret not in text


def test_an_admin_may_show_a_key_and_the_reading_is_recorded(client, sessions, licensed):
    _sign_in(client, sessions, licensed, Role.PARTNER_ADMIN)
    harbor = licensed.world.harbor_id
    page = client.get(f"/licensing/{harbor}").text
    action = f"/licensing/{harbor}/licenses/{licensed.license_id}/key"
    assert f'action="{action}"' in page
    assert licensed.key not in page
    shown = client.post(action, data={"csrf": csrf_from(page)})
    assert shown.status_code == 200
    assert f'<code class="license-key">{licensed.key}</code>' in shown.text
    assert shown.headers["cache-control"] == "no-store"
    with sessions() as db:
        viewed = db.scalars(select(Event).where(Event.type == "license.key_viewed")).all()
        assert [event.subject_id for event in viewed] == [licensed.license_id]


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_MEMBER])
def test_another_firms_licensing_and_keys_are_404_pages(client, sessions, licensed, role):
    _sign_in(client, sessions, licensed, role)
    harbor, other = licensed.world.harbor_id, licensed.other_id
    page = client.get(f"/licensing/{other}", headers=BROWSER)
    assert page.status_code == 404
    assert "Lantern Secret Customer" not in page.text
    csrf = csrf_from(client.get(f"/licensing/{harbor}").text)
    for path in (
        f"/licensing/{other}/licenses/{licensed.other_license_id}/key",
        f"/licensing/{harbor}/licenses/{licensed.other_license_id}/key",
    ):
        response = client.post(path, data={"csrf": csrf}, headers=BROWSER)
        assert response.status_code == 404, path
        assert licensed.other_key not in response.text


def test_a_member_cannot_show_a_key(client, sessions, licensed):
    _sign_in(client, sessions, licensed, Role.PARTNER_MEMBER)
    harbor = licensed.world.harbor_id
    csrf = csrf_from(client.get(f"/licensing/{harbor}").text)
    response = client.post(
        f"/licensing/{harbor}/licenses/{licensed.license_id}/key",
        data={"csrf": csrf},
        headers=BROWSER,
    )
    assert response.status_code == 403
    assert licensed.key not in response.text


def test_staff_open_any_firms_licensing(client, sessions, licensed):
    _sign_in(client, sessions, licensed, Role.AUDITOR)
    page = client.get(f"/licensing/{licensed.other_id}")
    assert page.status_code == 200
    assert "Lantern Secret Customer" in page.text


def test_names_like_scripts_render_as_text(client, sessions):
    script = "<script>alert(1)</script>"
    licensed = build_licensed(sessions, names=script)
    _sign_in(client, sessions, licensed, Role.PARTNER_ADMIN)
    text = client.get(f"/licensing/{licensed.world.harbor_id}").text
    assert "<script" not in text
    # The firm, the product, the customer and the request's justification.
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
