"""In a real browser: the credential page, its live verification and the embed widget.

A valid, an expired and a revoked badge are issued through the services; Chromium opens each
one's page, clicks "Verify" (which calls ``POST /api/v1/verify`` from the page's script), and
loads a partner's page on another origin that frames the widget with the snippet the page
offers. One screenshot per state of the page and of the partner's page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from charter.core import clock
from charter.core.auth import Principal
from charter.credentials import issuance, service
from charter.partners.enums import PartnerStatus
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(),
    reason="/usr/bin/chromium is missing: `make browser` installs Debian's chromium",
)

SYSTEM = Principal.system("e2e tests")
REVOCATION_REASON = "Exam result withdrawn by the test centre"
LABELS = {"valid": "Valid", "expired": "Expired", "revoked": "Revoked"}
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class IssuedBadge:
    """A badge as the test knows it."""

    credential_id: str
    email: str
    certification: str


def _issue(sessions: sessionmaker[Session], state: str) -> IssuedBadge:
    """Issue a badge that is ``valid``, ``expired`` or ``revoked`` now, through the services."""
    back = timedelta(days=800) if state == "expired" else timedelta(0)
    # An expired badge is issued 800 days ago (valid for 365): the whole history is made then.
    with clock.use(clock.FrozenClock(clock.now() - back)), sessions() as db, db.begin():
        firm = partner(db, SYSTEM, status=PartnerStatus.ACTIVE)
        holder = person(db, SYSTEM, partner_id=firm.id)
        email = holder.email_rows[0].email
        cert = certification(
            db,
            SYSTEM,
            name=f"Platform Engineer {state.title()}",
            description="Installs, upgrades and troubleshoots the vendor's platform.",
            narrative="Passed exam PE-200 and a two-hour hands-on lab.",
            track=Track.TECHNICAL,
            validity_days=365,
        )
        awarded = award(db, SYSTEM, person_id=holder.id, certification_id=cert.id)
        if state == "revoked":
            service.revoke_award(db, SYSTEM, award_id=awarded.id, reason=REVOCATION_REASON)
        found = issuance.current_credential_for_award(db, awarded.id)
        assert found is not None
        return IssuedBadge(found.id, email, cert.name)


@pytest.mark.parametrize("state", ["valid", "expired", "revoked"])
def test_page_verification_and_embed_show_the_state(
    state, sessions, live_server, page, partner_site, screenshots
):
    from playwright.sync_api import expect

    badge = _issue(sessions, state)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server}/credentials/{badge.credential_id}")

    banner = page.locator("#status-banner")
    expect(banner).to_have_attribute("data-status", state)
    expect(banner.locator(".banner-label")).to_have_text(LABELS[state])
    expect(page.locator("#certification-name")).to_have_text(badge.certification)
    if state == "revoked":
        expect(banner).to_contain_text(REVOCATION_REASON)
    assert badge.email not in page.content()
    badge_image = page.locator("img.badge-image")
    expect(badge_image).to_be_visible()
    assert badge_image.evaluate("image => image.complete && image.naturalWidth > 0")

    # Verify: the page's script posts the credential to /api/v1/verify and lists the checks.
    with page.expect_response(re.compile(r"/api/v1/verify$")) as called:
        page.locator("#verify-button").click()
    assert called.value.status == 200
    result = page.locator("#verify-result")
    expect(result).to_be_visible()
    expect(page.locator("#verify-status")).to_have_attribute("data-status", state)
    expect(page.locator("#verify-status")).to_have_text(LABELS[state])
    checks = page.locator("#verify-checks li")
    expect(checks).to_have_count(8)
    failed = page.locator("#verify-checks li.failed").evaluate_all(
        "items => items.map(item => item.dataset.check)"
    )
    assert failed == {"valid": [], "expired": ["dates"], "revoked": ["status"]}[state]
    expect(page.locator("#verify-checks li[data-check='proof']")).to_have_class("ok")
    if state == "revoked":
        expect(page.locator("#verify-reason")).to_contain_text(REVOCATION_REASON)
    page.screenshot(path=str(screenshots / f"page-{state}.png"), full_page=True)

    # The snippet the page offers, pasted as it is into a partner's page on another origin.
    snippet = html.unescape(page.locator("#embed-snippet").input_value())
    assert snippet.startswith(f'<iframe src="{live_server}/credentials/{badge.credential_id}/')
    host = partner_site.embedding(f"/team-{state}.html", snippet)
    page.goto(host)
    widget = page.frame_locator("iframe").locator(".embed")
    expect(widget).to_have_attribute("data-status", state)
    expect(widget.locator(".embed-status")).to_have_text(LABELS[state])
    expect(widget.locator(".embed-name")).to_have_text(badge.certification)
    expect(widget).to_have_attribute("target", "_blank")
    expect(widget).to_have_attribute("href", f"/credentials/{badge.credential_id}")
    widget_image = widget.locator("img")
    expect(widget_image).to_be_visible()
    assert widget_image.evaluate("image => image.complete && image.naturalWidth > 0")
    page.screenshot(path=str(screenshots / f"embed-{state}.png"))


def test_the_copy_button_copies_the_snippet(sessions, live_server, browser):
    badge = _issue(sessions, "valid")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        tab = context.new_page()
        tab.goto(f"{live_server}/credentials/{badge.credential_id}")
        tab.locator("#copy-snippet").click()
        tab.locator("#copy-done").wait_for(state="visible", timeout=TIMEOUT_MS)
        copied = tab.evaluate("navigator.clipboard.readText()")
        assert copied == tab.locator("#embed-snippet").input_value()
        assert copied.startswith("<iframe ")
    finally:
        context.close()
