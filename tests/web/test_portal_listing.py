"""The directory listing form in the portal: who may use it, CSRF, and errors named by field."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charter.core.auth import Role
from charter.core.models import Event
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import build_world

BROWSER = {"Accept": "text/html"}


def _form(**fields: str) -> dict[str, str]:
    return {"listed": "yes", "blurb": "", "website": "", "slug": "", **fields}


def test_a_partner_admin_lists_their_firm_from_the_portal(client, sessions):
    world = build_world(sessions)
    admin = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    sign_in(client, admin.email, admin.password)
    firm_page = client.get(f"/partners/{world.harbor_id}").text
    assert f'href="/partners/{world.harbor_id}/listing"' in firm_page
    form = client.get(f"/partners/{world.harbor_id}/listing")
    assert form.status_code == 200
    assert 'data-shown="no"' in form.text
    saved = client.post(
        f"/partners/{world.harbor_id}/listing",
        data=_form(csrf=csrf_from(form.text), blurb="<b>Data</b> & analytics"),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/partners/{world.harbor_id}/listing?saved=1"
    after = client.get(saved.headers["location"]).text
    assert 'data-shown="yes"' in after
    assert "&lt;b&gt;Data&lt;/b&gt; &amp; analytics" in after
    profile = client.get("/directory/harbor-analytics-gmbh")
    assert profile.status_code == 200
    assert "&lt;b&gt;Data&lt;/b&gt; &amp; analytics" in profile.text
    with sessions() as db:
        logged = db.scalars(select(Event).where(Event.type == "partner.listing_updated")).all()
        assert [event.actor_id for event in logged] == [admin.id]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"website": "javascript:alert(1)"}, "website"),
        ({"slug": "Not a slug"}, "slug"),
        ({"blurb": "x" * 1001}, "blurb"),
    ],
)
def test_bad_input_comes_back_with_the_field_named(client, sessions, fields, field):
    world = build_world(sessions)
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    form = client.get(f"/partners/{world.quill_id}/listing")
    response = client.post(
        f"/partners/{world.quill_id}/listing", data=_form(csrf=csrf_from(form.text), **fields)
    )
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    assert 'data-shown="no"' in response.text  # nothing was saved


def test_a_taken_slug_is_named(client, sessions):
    world = build_world(sessions)
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    token = csrf_from(client.get(f"/partners/{world.harbor_id}/listing").text)
    client.post(f"/partners/{world.harbor_id}/listing", data=_form(csrf=token, slug="taken"))
    response = client.post(
        f"/partners/{world.quill_id}/listing", data=_form(csrf=token, slug="taken")
    )
    assert response.status_code == 409
    assert 'id="slug-error"' in response.text


def test_the_form_needs_its_csrf_token(client, sessions):
    world = build_world(sessions)
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    response = client.post(f"/partners/{world.harbor_id}/listing", data=_form(csrf="forged"))
    assert response.status_code == 403
    assert 'data-shown="no"' in client.get(f"/partners/{world.harbor_id}/listing").text


def test_members_and_other_firms_cannot_use_the_form(client, sessions):
    world = build_world(sessions)
    member = web_user(sessions, Role.PARTNER_MEMBER, partner_id=world.harbor_id)
    sign_in(client, member.email, member.password)
    own = client.get(f"/partners/{world.harbor_id}", headers=BROWSER).text
    assert "/listing" not in own
    assert client.get(f"/partners/{world.harbor_id}/listing", headers=BROWSER).status_code == 403
    other = client.get(f"/partners/{world.quill_id}/listing", headers=BROWSER)
    assert other.status_code == 404
    token = csrf_from(client.get("/dashboard").text)
    posted = client.post(
        f"/partners/{world.harbor_id}/listing", data=_form(csrf=token), headers=BROWSER
    )
    assert posted.status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, sessions):
    world = build_world(sessions)
    response = client.get(f"/partners/{world.harbor_id}/listing", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
