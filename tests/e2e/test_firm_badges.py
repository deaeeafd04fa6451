"""In a real browser: a firm's partner-tier badge page, its live verification and its embed.

A firm earns Gold through the tiers service; for the revoked state it then loses an engineer
and falls to Registered, which revokes the Gold badge. Chromium opens the Gold badge's page,
clicks "Verify", and loads the partner's own site framing the widget with the offered snippet.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from charter.core.auth import Principal
from charter.partners import employment as partners
from charter.partners.enums import PartnerStatus
from charter.tiers import service
from charter.tiers.models import FirmTier
from tests.codes import Track
from tests.credentials.factories import award
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import gold, registered, scheme

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)

SYSTEM = Principal.system("e2e tests")
FIRM_NAME = "Fabrikam Cloud Partners"
LABELS = {"valid": "Valid", "revoked": "Revoked"}
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class GoldBadge:
    """A firm's Gold badge as the test knows it."""

    badge_id: str
    emails: tuple[str, ...]


def _gold_badge(sessions: sessionmaker[Session], state: str) -> GoldBadge:
    """A firm's Gold badge, ``valid`` or ``revoked`` (the firm fell to Registered)."""
    with sessions() as db, db.begin():
        firm = partner(db, SYSTEM, status=PartnerStatus.ACTIVE, name=FIRM_NAME)
        cert = certification(db, SYSTEM, track=Track.TECHNICAL, validity_days=365)
        engineers = [person(db, SYSTEM, partner_id=firm.id) for _ in range(2)]
        emails = tuple(engineer.email_rows[0].email for engineer in engineers)
        for engineer in engineers:
            award(db, SYSTEM, person_id=engineer.id, certification_id=cert.id)
        scheme(db, SYSTEM, [registered(), gold(grace_days=0)])
        service.evaluate_firm(db, SYSTEM, partner_id=firm.id)
        standing = db.get(FirmTier, (firm.id, "default"))
        assert standing is not None
        assert standing.tier == "gold"
        assert standing.badge_id is not None
        badge_id = standing.badge_id
        if state == "revoked":
            partners.person_leaves_partner(db, SYSTEM, person_id=engineers[0].id)
            service.evaluate_firm(db, SYSTEM, partner_id=firm.id)
        return GoldBadge(badge_id, emails)


@pytest.mark.parametrize("state", ["valid", "revoked"])
def test_firm_badge_page_verification_and_embed_show_the_state(
    state, sessions, live_server, page, partner_site, screenshots
):
    from playwright.sync_api import expect

    badge = _gold_badge(sessions, state)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server}/credentials/{badge.badge_id}")

    banner = page.locator("#status-banner")
    expect(banner).to_have_attribute("data-status", state)
    expect(banner.locator(".banner-label")).to_have_text(LABELS[state])
    expect(page.locator("#credential-kind")).to_have_text("Partner tier")
    expect(page.locator("#certification-name")).to_have_text("Gold")
    expect(page.locator("#holder")).to_have_text(FIRM_NAME)
    if state == "revoked":
        expect(banner).to_contain_text("tier changed to Registered")
    content = page.content()
    assert all(email not in content for email in badge.emails)
    badge_image = page.locator("img.badge-image")
    expect(badge_image).to_be_visible()
    assert badge_image.evaluate("image => image.complete && image.naturalWidth > 0")

    with page.expect_response(re.compile(r"/api/v1/verify$")) as called:
        page.locator("#verify-button").click()
    assert called.value.status == 200
    expect(page.locator("#verify-result")).to_be_visible()
    expect(page.locator("#verify-status")).to_have_attribute("data-status", state)
    expect(page.locator("#verify-status")).to_have_text(LABELS[state])
    expect(page.locator("#verify-checks li")).to_have_count(8)
    failed = page.locator("#verify-checks li.failed").evaluate_all(
        "items => items.map(item => item.dataset.check)"
    )
    assert failed == {"valid": [], "revoked": ["status"]}[state]
    expect(page.locator("#verify-checks li[data-check='proof']")).to_have_class("ok")
    page.screenshot(path=str(screenshots / f"firm-page-{state}.png"), full_page=True)

    # The partner pastes the offered snippet into its own site, on another origin.
    snippet = html.unescape(page.locator("#embed-snippet").input_value())
    assert snippet.startswith(f'<iframe src="{live_server}/credentials/{badge.badge_id}/embed"')
    host = partner_site.embedding(f"/tier-{state}.html", snippet)
    page.goto(host)
    widget = page.frame_locator("iframe").locator(".embed")
    expect(widget).to_have_attribute("data-status", state)
    expect(widget.locator(".embed-status")).to_have_text(LABELS[state])
    expect(widget.locator(".embed-name")).to_have_text("Gold")
    expect(widget.locator(".embed-holder")).to_have_text(FIRM_NAME)
    expect(widget).to_have_attribute("href", f"/credentials/{badge.badge_id}")
    widget_image = widget.locator("img")
    expect(widget_image).to_be_visible()
    assert widget_image.evaluate("image => image.complete && image.naturalWidth > 0")
    page.screenshot(path=str(screenshots / f"firm-embed-{state}.png"))
