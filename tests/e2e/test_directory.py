"""In a real browser: a visitor filters the partner directory, opens a firm, then its badge.

Three listed firms: Gold in EMEA with two certified engineers, Registered in EMEA with one
sales professional, and Registered in North America. The visitor narrows the list with the
form (region, tier, certification), each step a plain GET, opens the one firm left, and from
its profile the firm's tier badge, whose verification page says it is valid.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session, sessionmaker

from charter.core.auth import Principal
from charter.partners import listing
from charter.partners.enums import PartnerStatus
from charter.partners.schemas import ListingUpdate
from charter.tiers import service
from tests.codes import Region, Track
from tests.credentials.factories import award
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import gold, registered, scheme

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)

SYSTEM = Principal.system("e2e tests")
TIMEOUT_MS = 15_000


def _program(sessions: sessionmaker[Session]) -> str:
    """The three listed firms; the certification code the visitor filters by."""
    with sessions() as db, db.begin():
        tech = certification(db, SYSTEM, track=Track.TECHNICAL, name="Cloud Architect")
        sales = certification(db, SYSTEM, track=Track.SALES, name="Sales Professional")
        scheme(db, SYSTEM, [registered(), gold(grace_days=0)])
        # Each based in its region: the region filter also matches a firm by its country.
        firms = [
            ("Fabrikam Cloud", Region.EMEA, "DE", [tech, tech]),
            ("Litware Sales", Region.EMEA, "FR", [sales]),
            ("Tailspin Toys", Region.NA, "US", [tech]),
        ]
        for name, region, country, held in firms:
            firm = partner(
                db,
                SYSTEM,
                status=PartnerStatus.ACTIVE,
                name=name,
                regions=[region],
                country=country,
            )
            for cert in held:
                someone = person(db, SYSTEM, partner_id=firm.id, track=cert.track)
                award(db, SYSTEM, person_id=someone.id, certification_id=cert.id)
            service.evaluate_firm(db, SYSTEM, partner_id=firm.id)
            listing.update_listing(
                db,
                SYSTEM,
                partner_id=firm.id,
                data=ListingUpdate(listed=True, blurb=f"{name}, a partner you can check."),
            )
        return tech.code


def test_a_visitor_filters_opens_a_firm_and_verifies_its_badge(
    sessions, live_server, page, screenshots
):
    from playwright.sync_api import expect

    code = _program(sessions)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server}/directory")
    expect(page.locator("li.firm")).to_have_count(3)
    expect(page.locator("li.firm").first.locator(".firm-link")).to_have_text("Fabrikam Cloud")

    form = page.locator("#filters")
    form.locator("select[name=region]").select_option("emea")
    form.locator("button[type=submit]").click()
    expect(page.locator("li.firm")).to_have_count(2)
    form.locator("select[name=tier]").select_option("gold")
    form.locator("select[name=certification]").select_option(code)
    form.locator("button[type=submit]").click()
    expect(page.locator("li.firm")).to_have_count(1)
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"region": ["emea"], "tier": ["gold"], "certification": [code]}
    page.screenshot(path=str(screenshots / "directory-filtered.png"), full_page=True)

    page.locator("li.firm .firm-link").click()
    expect(page.locator("#firm-name")).to_have_text("Fabrikam Cloud")
    expect(page.locator("#headcount")).to_have_attribute("data-count", "2")
    badge_image = page.locator("#tier-badges img")
    expect(badge_image).to_be_visible()
    assert badge_image.evaluate("image => image.complete && image.naturalWidth > 0")
    page.screenshot(path=str(screenshots / "directory-firm.png"), full_page=True)

    page.locator("#tier-badges a.tier-badge").click()
    page.wait_for_url(re.compile(r"/credentials/tbg_"))
    page.wait_for_load_state("load")
    expect(page.locator("#status-banner")).to_have_attribute("data-status", "valid")
    expect(page.locator("#certification-name")).to_have_text("Gold")
    expect(page.locator("#holder")).to_have_text("Fabrikam Cloud")
    with page.expect_response(re.compile(r"/api/v1/verify$")) as called:
        page.locator("#verify-button").click()
    assert called.value.status == 200
    expect(page.locator("#verify-status")).to_have_attribute(
        "data-status", "valid", timeout=TIMEOUT_MS
    )
    page.screenshot(path=str(screenshots / "directory-badge.png"), full_page=True)
