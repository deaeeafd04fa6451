"""In a real browser: a program manager filters the partners list and opens a firm; an auditor
downloads a list as CSV. Every page fits a 360 px wide phone without scrolling sideways."""

from __future__ import annotations

import csv
import io

import pytest

from charter.core.auth import Role
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.web.helpers import web_user
from tests.web.portal_world import build_world

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)

TIMEOUT_MS = 15_000
PHONE = {"width": 360, "height": 780}


def _sign_in(page, live_server: str, email: str, password: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/dashboard")


def _fits_a_phone(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= 360"))


def test_manager_filters_partners_opens_a_firm_and_auditor_exports_csv(
    sessions, live_server, page, screenshots
):
    from playwright.sync_api import expect

    world = build_world(sessions)
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    auditor = web_user(sessions, Role.AUDITOR)
    page.set_default_timeout(TIMEOUT_MS)

    _sign_in(page, live_server, manager.email, manager.password)
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Partners").click()
    expect(page.locator("#partners tbody tr")).to_have_count(2)
    page.get_by_label("Status").select_option("active")
    page.get_by_label("Tier").select_option("gold")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/partners?*status=active*")
    assert "tier=gold" in page.url
    rows = page.locator("#partners tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-partner", world.harbor_id)
    page.screenshot(path=str(screenshots / "portal-partners-filtered.png"), full_page=True)

    # The filtered view is a URL: opening it again shows the same list.
    shared = page.url
    page.goto(shared)
    expect(page.locator("#partners tbody tr")).to_have_count(1)

    page.get_by_role("link", name=world.harbor_name).click()
    expect(page.locator("#firm-name")).to_have_text(world.harbor_name)
    expect(page.locator("#current-tier")).to_have_text("Gold")
    expect(page.locator("#forecast")).to_contain_text("Falls below Gold")
    expect(page.locator("#onboarding li[data-done='yes']")).to_have_count(4)
    page.screenshot(path=str(screenshots / "portal-firm.png"), full_page=True)

    page.set_viewport_size(PHONE)
    for path in (
        "/dashboard",
        "/partners",
        shared.removeprefix(live_server),
        f"/partners/{world.harbor_id}",
        "/account",
    ):
        page.goto(f"{live_server}{path}")
        assert _fits_a_phone(page), f"{path} scrolls sideways at 360 px"
    page.screenshot(path=str(screenshots / "portal-firm-phone.png"), full_page=True)

    # Keyboard users can reach the content past the navigation.
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{live_server}/login")

    _sign_in(page, live_server, auditor.email, auditor.password)
    page.goto(f"{live_server}/people?partner_id={world.harbor_id}")
    expect(page.locator("#people tbody tr")).to_have_count(2)
    assert _fits_a_phone(page), "the people list scrolls sideways at 360 px"
    assert page.locator("form[method='post']").count() == 1  # signing out, nothing else
    page.screenshot(path=str(screenshots / "portal-people-auditor-phone.png"), full_page=True)
    with page.expect_download() as started:
        page.locator("#export-csv").click()
    download = started.value
    assert download.suggested_filename == "people.csv"
    saved = screenshots / "portal-people.csv"
    download.save_as(str(saved))
    rows_read = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert sorted(row["id"] for row in rows_read) == sorted(world.engineer_ids)
    assert {row["partner"] for row in rows_read} == {world.harbor_name}
