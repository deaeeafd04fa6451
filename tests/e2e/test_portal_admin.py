"""In a real browser: an admin creates an API key and sees its token once; a governance owner
approves a pending request from the inbox, saying why. The pages fit a 360 px wide phone."""

from __future__ import annotations

import re

import pytest

from charter.core.auth import Role
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.web.admin_world import JUSTIFICATION, pending_request
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


def test_admin_creates_an_api_key_and_sees_its_token_once(sessions, live_server, page, screenshots):
    from playwright.sync_api import expect

    admin = web_user(sessions, Role.ADMIN)
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, live_server, admin.email, admin.password)

    page.locator("a.who").click()
    page.locator("#api-keys-link").click()
    expect(page.locator("#no-keys")).to_be_visible()
    page.get_by_label("Key name").fill("Nightly export")
    page.get_by_label("events:read").check()
    page.get_by_role("button", name="Create key").click()
    token = page.locator("#new-token")
    expect(token).to_have_value(re.compile(r"^chk_key_"))
    secret = token.input_value()
    rows = page.locator("#keys tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("events:read")
    page.screenshot(path=str(screenshots / "portal-api-key-created.png"), full_page=True)

    page.goto(f"{live_server}/account/api-keys")
    expect(page.locator("#keys tbody tr")).to_have_count(1)
    expect(page.locator("#new-token")).to_have_count(0)
    assert secret not in page.content()

    page.set_viewport_size(PHONE)
    for path in ("/account/api-keys", "/users", f"/users/{admin.id}"):
        page.goto(f"{live_server}{path}")
        assert _fits_a_phone(page), f"{path} scrolls sideways at 360 px"
    page.screenshot(path=str(screenshots / "portal-user-phone.png"), full_page=True)


def test_governance_owner_approves_a_request_from_the_inbox(
    sessions, live_server, page, screenshots
):
    from playwright.sync_api import expect

    world = build_world(sessions)
    requester = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    request_id = pending_request(
        sessions, requester_id=requester.id, partner_id=world.harbor_id, overdue=True
    )
    owner = web_user(sessions, Role.GOVERNANCE_OWNER)
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, live_server, owner.email, owner.password)

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Approvals").click()
    inbox = page.locator("#inbox-requests tbody tr")
    expect(inbox).to_have_count(1)
    expect(inbox.first).to_have_attribute("data-overdue", "yes")
    page.screenshot(path=str(screenshots / "portal-approvals-inbox.png"), full_page=True)
    inbox.first.get_by_role("link").click()
    expect(page.locator("#justification")).to_have_text(JUSTIFICATION)
    expect(page.locator("#proposed-change")).to_contain_text("https://new.example")

    # Without a reason the browser keeps the form; the reason is required.
    page.get_by_role("button", name="Approve").click()
    assert page.url.endswith(f"/approvals/{request_id}")
    expect(page.locator("#approval-state")).to_contain_text("pending")

    page.get_by_label("Reason (required)").fill("Matches the merger filing.")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#approval-state")).to_contain_text("applied")
    expect(page.locator("#decision-reason")).to_have_text("Matches the merger filing.")
    expect(page.locator("#decide")).to_have_count(0)
    page.screenshot(path=str(screenshots / "portal-approval-applied.png"), full_page=True)

    page.goto(f"{live_server}/approvals")
    expect(page.locator("#inbox-empty")).to_be_visible()
    page.set_viewport_size(PHONE)
    for path in ("/approvals", f"/approvals/{request_id}"):
        page.goto(f"{live_server}{path}")
        assert _fits_a_phone(page), f"{path} scrolls sideways at 360 px"
    page.screenshot(path=str(screenshots / "portal-approval-phone.png"), full_page=True)
