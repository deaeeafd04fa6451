"""The program page: a firm's tier and what the next tier needs in plain words, the renewals
that keep it, its people and badges, its tier badge to share; partner admins invite people
and record leavers, members only read, and nobody sees another firm's page."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from charter.config import Settings
from charter.core.auth import Principal, Role
from charter.partners.models import Invitation, Person
from charter.tiers.rules import Shortfall, ShortfallKind
from charter.web.portal.program import plain_need
from charter.worker.runner import run_until_idle
from tests.mail import Inbox, mail_settings
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import World, build_world
from tests.web.program_world import with_platinum

SYSTEM = Principal.system("program page tests")
BROWSER = {"Accept": "text/html"}


@pytest.fixture
def settings(tmp_path: Path, inbox: Inbox) -> Settings:
    return mail_settings(tmp_path, inbox)


def _signed_in(client, sessions, world: World, role: Role) -> None:
    partner_id = world.harbor_id if role.is_partner_role else None
    user = web_user(sessions, role, partner_id=partner_id)
    sign_in(client, user.email, user.password)


def test_a_partner_admin_reads_what_the_next_tier_needs_in_plain_words(client, sessions):
    world = build_world(sessions)
    with_platinum(sessions, world)
    _signed_in(client, sessions, world, Role.PARTNER_ADMIN)
    page = client.get(f"/program/{world.harbor_id}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert '<strong class="current-tier">Gold</strong>' in text
    assert "To reach Platinum, you need:" in text
    assert f"1 more {world.certification_name} (technical) person" in text
    assert "your customer satisfaction 4.1 must reach 4.3" in text
    # Both engineers' awards end within 60 days: each is expiring, and renewing keeps Gold.
    renewals = re.search(r'<ul class="saving-renewals">(.*?)</ul>', text, re.S)
    assert renewals is not None
    for name in world.engineer_names:
        assert f"{name}</a>: {world.certification_name} (technical), valid until" in renewals.group(
            1
        )
    expiring = re.search(r'<ul id="expiring">(.*?)</ul>', text, re.S)
    assert expiring is not None
    assert all(name in expiring.group(1) for name in world.engineer_names)


def test_the_tier_badge_can_be_downloaded_shared_and_embedded(client, sessions):
    world = build_world(sessions)
    _signed_in(client, sessions, world, Role.PARTNER_MEMBER)
    page = client.get(f"/program/{world.harbor_id}").text
    [badge_id] = set(re.findall(r'href="/credentials/(tbg_[^/"]+)/badge\.png"', page))
    assert f'href="/credentials/{badge_id}/badge.svg"' in page
    assert client.get(f"/credentials/{badge_id}/badge.png").headers["content-type"] == "image/png"
    svg = client.get(f"/credentials/{badge_id}/badge.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    linkedin = re.search(r'href="(https://www\.linkedin\.com/sharing/[^"]+)"', page)
    assert linkedin is not None
    assert badge_id in html.unescape(linkedin.group(1)).replace("%2F", "/")
    snippet = re.search(r'<textarea id="embed-snippet-1"[^>]*>(.*?)</textarea>', page, re.S)
    assert snippet is not None
    pasted = html.unescape(snippet.group(1))
    assert pasted.startswith("<iframe ")
    assert f"/credentials/{badge_id}/embed" in pasted
    embed_src = re.search(r'src="https?://[^/]+(/credentials/[^"]+)"', pasted)
    assert embed_src is not None
    assert client.get(embed_src.group(1)).status_code == 200
    # The people and links to their badges' public pages.
    for name in world.engineer_names:
        assert name in page
    assert len(re.findall(r'href="/credentials/[^"/]+"', page)) >= 2


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_MEMBER])
def test_another_firms_program_is_a_404_page(client, sessions, role):
    world = build_world(sessions)
    _signed_in(client, sessions, world, role)
    page = client.get(f"/program/{world.quill_id}", headers=BROWSER)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert world.quill_name not in page.text
    assert world.quill_person_name not in page.text
    with sessions() as db:
        csrf = csrf_from(client.get(f"/program/{world.harbor_id}").text)
        posted = client.post(
            f"/program/{world.quill_id}/people/{world.quill_person_id}/left",
            data={"csrf": csrf},
            headers=BROWSER,
        )
        assert posted.status_code == 404
        assert db.get(Person, world.quill_person_id).partner_id == world.quill_id


def test_members_see_no_forms_and_cannot_post_them(client, sessions):
    world = build_world(sessions)
    _signed_in(client, sessions, world, Role.PARTNER_MEMBER)
    page = client.get(f"/program/{world.harbor_id}").text
    forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page)
    assert set(forms) == {"/logout"}
    csrf = csrf_from(page)
    left = client.post(
        f"/program/{world.harbor_id}/people/{world.engineer_ids[0]}/left",
        data={"csrf": csrf},
        headers=BROWSER,
    )
    assert left.status_code == 403
    invited = client.post(
        f"/program/{world.harbor_id}/invite",
        data={
            "csrf": csrf,
            "given_name": "Sam",
            "family_name": "Doe",
            "track": "sales",
            "email": "sam@harbor.example",
        },
        headers=BROWSER,
    )
    assert invited.status_code == 403
    with sessions() as db:
        assert db.get(Person, world.engineer_ids[0]).partner_id == world.harbor_id
        assert db.scalar(select(Invitation.id)) is None


def test_a_partner_admin_invites_a_person_and_they_get_the_mail(client, sessions, inbox):
    world = build_world(sessions)
    _signed_in(client, sessions, world, Role.PARTNER_ADMIN)
    page = client.get(f"/program/{world.harbor_id}").text
    assert f'action="/program/{world.harbor_id}/invite"' in page
    response = client.post(
        f"/program/{world.harbor_id}/invite",
        data={
            "csrf": csrf_from(page),
            "given_name": "Sam",
            "family_name": "Doe",
            "track": "sales",
            "email": "sam@harbor.example",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/program/{world.harbor_id}?done=invited"
    assert "Invitation sent." in client.get(response.headers["location"]).text
    run_until_idle(sessions)
    [message] = inbox.to("sam@harbor.example")
    assert world.harbor_name in message.get_body(preferencelist=("plain",)).get_content()


def test_an_invitation_with_a_bad_address_says_so_and_keeps_what_was_typed(client, sessions):
    world = build_world(sessions)
    _signed_in(client, sessions, world, Role.PARTNER_ADMIN)
    page = client.get(f"/program/{world.harbor_id}").text
    response = client.post(
        f"/program/{world.harbor_id}/invite",
        data={
            "csrf": csrf_from(page),
            "given_name": "<b>Sam</b>",
            "family_name": "Doe",
            "track": "nonsense",
            "email": "not an address",
        },
    )
    assert response.status_code == 422
    assert 'id="form-error"' in response.text
    assert "&lt;b&gt;Sam&lt;/b&gt;" in response.text
    with sessions() as db:
        assert db.scalar(select(Invitation.id)) is None


def test_a_partner_admin_records_that_someone_left(client, sessions):
    world = build_world(sessions)
    _signed_in(client, sessions, world, Role.PARTNER_ADMIN)
    page = client.get(f"/program/{world.harbor_id}").text
    leaver = world.engineer_ids[0]
    response = client.post(
        f"/program/{world.harbor_id}/people/{leaver}/left",
        data={"csrf": csrf_from(page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with sessions() as db:
        assert db.get(Person, leaver).partner_id is None
    after = client.get(response.headers["location"]).text
    assert f'data-person="{leaver}"' not in after
    assert "Recorded: that person left the firm." in after


def test_each_shortfall_is_said_to_the_firm_in_plain_words():
    names = {"CLD-PRO": "Certified Professional (technical)"}
    said = [
        plain_need(item, names)
        for item in (
            Shortfall(ShortfallKind.STANDING, detail=("suspended",)),
            Shortfall(ShortfallKind.ONBOARDING, detail=("agreement_signed", "eligibility")),
            Shortfall(ShortfallKind.TRACK, "sales", 1, 2),
            Shortfall(ShortfallKind.CERTIFICATION, "CLD-PRO", 1, 3),
            Shortfall(ShortfallKind.CERTIFICATION, "UNKNOWN-1", 0, 1),
            Shortfall(ShortfallKind.REQUIRED_CERTIFICATION, "CLD-PRO", 0, 1),
            Shortfall(ShortfallKind.TRACK_RECORD, "customer_satisfaction", 4.1, 4.3),
            Shortfall(ShortfallKind.TRACK_RECORD, "successful_deployments", None, 5),
        )
    ]
    assert said == [
        "your firm must be active (it is suspended)",
        "finish onboarding: agreement signed, eligibility",
        "1 more person certified in the sales track",
        "2 more Certified Professional (technical) people",
        "1 more UNKNOWN-1 person",
        "someone certified as Certified Professional (technical)",
        "your customer satisfaction 4.1 must reach 4.3",
        "your successful deployments figure is not recorded yet; it must reach 5",
    ]


def test_the_page_links_each_badge_and_costs_the_same_statements_for_more_people(
    client, sessions, engine
):
    from sqlalchemy import event

    from charter.credentials.models import IssuedCredential
    from tests.credentials.factories import award
    from tests.partners.factories import person

    world = build_world(sessions)
    _signed_in(client, sessions, world, Role.PARTNER_ADMIN)

    def statements() -> tuple[int, str]:
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = client.get(f"/program/{world.harbor_id}")
            assert page.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen), page.text

    few, page = statements()
    with sessions() as db:
        credentials = db.scalars(select(IssuedCredential.id)).all()
    linked = set(re.findall(r'href="/credentials/(bdg_[^"/]+)"', page))
    assert linked
    assert linked <= set(credentials)
    with sessions() as db, db.begin():
        for n in range(4):
            newcomer = person(db, SYSTEM, partner_id=world.harbor_id, given_name=f"New{n}")
            award(db, SYSTEM, person_id=newcomer.id, certification_id=world.certification_id)
    more, page = statements()
    assert len(set(re.findall(r'href="/credentials/(bdg_[^"/]+)"', page))) == len(linked) + 4
    assert more == few
