"""In a real browser: a partner admin signs in, finds what the firm needs for the next tier,
and copies the tier badge's embed snippet. The pages fit a 360 px wide phone."""

from __future__ import annotations

import pytest

from charter.core.auth import Role
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.web.helpers import web_user
from tests.web.partner_licensing_world import build_licensed
from tests.web.portal_world import build_world
from tests.web.program_world import with_platinum

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)

TIMEOUT_MS = 15_000
PHONE = {"width": 360, "height": 780}


def test_partner_admin_finds_the_next_tier_and_copies_the_embed_snippet(
    sessions, live_server, page, screenshots
):
    from playwright.sync_api import expect

    world = build_world(sessions)
    with_platinum(sessions, world)
    admin = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    page.set_default_timeout(TIMEOUT_MS)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/dashboard")

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Our program").click()
    page.wait_for_url(f"{live_server}/program/{world.harbor_id}")
    tier = page.locator("#tier")
    expect(tier.locator(".current-tier")).to_have_text("Gold")
    expect(tier).to_contain_text("To reach Platinum, you need:")
    needs = tier.locator("ul.next-needs li")
    expect(needs).to_have_text(
        [
            f"1 more {world.certification_name} (technical) person",
            "your customer satisfaction 4.1 must reach 4.3",
        ]
    )
    expect(page.locator("ul.saving-renewals li")).to_have_count(2)
    page.screenshot(path=str(screenshots / "partner-program.png"), full_page=True)

    snippet = page.get_by_label("Embed on your website (copy this HTML):")
    text = snippet.input_value()
    assert text.startswith("<iframe src=")
    assert "/credentials/tbg_" in text
    assert "/embed" in text
    assert 'title="Gold: verified partner tier"' in text
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator(".copy-done")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == text
    # The snippet works: it frames the badge's embed page.
    src = text.split('src="', 1)[1].split('"', 1)[0]
    page.goto(src)
    expect(page.locator("body")).to_contain_text("Gold")
    page.go_back()

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Licensing").click()
    page.wait_for_url(f"{live_server}/licensing/{world.harbor_id}")
    expect(page.locator("#licenses")).to_contain_text("Your firm holds no license.")

    page.set_viewport_size(PHONE)
    for path in (f"/program/{world.harbor_id}", f"/licensing/{world.harbor_id}"):
        page.goto(f"{live_server}{path}")
        assert page.evaluate("document.documentElement.scrollWidth <= 360"), path
    page.goto(f"{live_server}/program/{world.harbor_id}")
    page.screenshot(path=str(screenshots / "partner-program-phone.png"), full_page=True)


def test_partner_admin_reads_the_firms_licensing_and_shows_a_key(
    sessions, live_server, page, screenshots
):
    from playwright.sync_api import expect

    licensed = build_licensed(sessions)
    admin = web_user(sessions, Role.PARTNER_ADMIN, partner_id=licensed.world.harbor_id)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/dashboard")

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Licensing").click()
    license_card = page.locator(f"[data-license='{licensed.license_id}']")
    expect(license_card.locator(".masked-key")).to_be_visible()
    expect(license_card.locator("[data-metric='api_calls']")).to_contain_text("130 of 100")
    expect(page.locator("#requests")).to_contain_text(licensed.request_justification)
    page.screenshot(path=str(screenshots / "partner-licensing.png"), full_page=True)

    license_card.get_by_role("button", name="Show the full key").click()
    expect(page.locator(".license-key")).to_have_text(licensed.key)

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/licensing/{licensed.world.harbor_id}")
    assert page.evaluate("document.documentElement.scrollWidth <= 360")
    page.screenshot(path=str(screenshots / "partner-licensing-phone.png"), full_page=True)
