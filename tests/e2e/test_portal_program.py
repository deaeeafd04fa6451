"""In a real browser: a program manager creates a certification, records an assessment,
issues an award after the eligibility check, revokes it with a reason and sees the public
credential page change; then uploads a CSV with a bad row and sees the report, nothing written.
The new pages fit a 360 px wide phone without scrolling sideways."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from charter.core.auth import Role
from charter.partners.models import Partner
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.web.helpers import web_user
from tests.web.portal_world import build_world

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)

TIMEOUT_MS = 15_000
PHONE = {"width": 360, "height": 780}
BAD_PARTNERS = (
    b"external_id,name,type,regions,country,website\r\n"
    b"P1,Northwind Consulting,implementation,emea,DE,\r\n"
    b"P2,Broken Firm,not-a-type,emea,DE,\r\n"
)


def _sign_in(page, live_server: str, email: str, password: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/dashboard")


def _fits_a_phone(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= 360"))


def test_manager_certifies_assesses_issues_revokes_and_uploads(
    sessions, live_server, page, screenshots
):
    from playwright.sync_api import expect

    world = build_world(sessions)
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    page.set_default_timeout(TIMEOUT_MS)
    _sign_in(page, live_server, manager.email, manager.password)

    # A certification with its first criteria.
    nav = page.get_by_role("navigation", name="Portal")
    nav.get_by_role("link", name="Certifications").click()
    page.get_by_role("link", name="New certification").click()
    page.locator("#code").fill("DATA-101")
    page.locator("#name").fill("Data Engineer")
    page.locator("#level").select_option("foundation")
    page.locator("#narrative").fill("Pass the data exam with 70% or more.")
    page.locator("#exam_code").fill("EXAM-DATA-101")
    page.locator("#exam_min_score").fill("70")
    page.screenshot(path=str(screenshots / "portal-certification-new.png"), full_page=True)
    page.get_by_role("button", name="Create certification").click()
    expect(page.locator("#certification-name")).to_have_text("Data Engineer")
    expect(page.locator("#criteria")).to_contain_text("Exam EXAM-DATA-101 passed")
    page.screenshot(path=str(screenshots / "portal-certification.png"), full_page=True)
    certification_path = page.url.removeprefix(live_server)

    # An exam recorded from the person's page.
    engineer = world.engineer_ids[0]
    page.goto(f"{live_server}/people/{engineer}")
    page.get_by_role("link", name="Record an assessment").click()
    page.locator("#code").fill("EXAM-DATA-101")
    page.locator("#score").fill("91")
    page.locator("#assessor").fill("Pearson VUE")
    page.locator("#occurred_at").fill("2026-01-05")
    page.get_by_role("button", name="Record assessment").click()
    expect(page.locator("#assessments")).to_contain_text("EXAM-DATA-101")

    # The award: the check first, then the form posts.
    page.get_by_role("link", name="Issue an award").click()
    page.locator("#certification_id").select_option(label="Data Engineer (DATA-101)")
    page.get_by_role("button", name="Check eligibility").click()
    expect(page.locator("#eligible")).to_contain_text("meets version 1")
    page.screenshot(path=str(screenshots / "portal-award-check.png"), full_page=True)
    page.get_by_role("button", name="Issue Data Engineer").click()
    expect(page.locator("#award-status")).to_have_text("active")
    award_path = page.url.removeprefix(live_server).split("?")[0]
    page.locator("#credential-link").click()
    expect(page.locator("#status-banner")).to_have_attribute("data-status", "valid")
    credential_url = page.url

    # Revoked with a reason: the public page says so.
    page.goto(f"{live_server}{award_path}")
    page.locator("#revoke-reason").fill("Exam results withdrawn by the test centre")
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#award-status")).to_have_text("revoked")
    expect(page.locator("#award-reason")).to_have_text("Exam results withdrawn by the test centre")
    page.screenshot(path=str(screenshots / "portal-award-revoked.png"), full_page=True)
    page.locator("#credential-link").click()
    assert page.url == credential_url
    expect(page.locator("#status-banner")).to_have_attribute("data-status", "revoked")
    expect(page.locator("#status-banner")).to_contain_text("Exam results withdrawn")
    page.screenshot(path=str(screenshots / "portal-credential-revoked.png"), full_page=True)

    # A CSV with a bad row: the per-row report, and nothing written.
    page.goto(f"{live_server}/imports")
    page.locator("#kind").select_option("partners")
    page.locator("#file").set_input_files(
        {"name": "partners.csv", "mimeType": "text/csv", "buffer": BAD_PARTNERS}
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-rows tr[data-outcome='error']")).to_have_count(1)
    expect(page.locator("#import-rows tr[data-line='3']")).to_contain_text("type")
    expect(page.locator("#nothing-imported")).to_be_visible()
    expect(page.locator("#confirm-form")).to_have_count(0)
    page.screenshot(path=str(screenshots / "portal-import-report.png"), full_page=True)
    with sessions() as db:
        names = db.scalars(select(Partner.name)).all()
        assert "Northwind Consulting" not in names
        assert db.scalar(select(func.count()).select_from(Partner)) == 2

    page.set_viewport_size(PHONE)
    for path in (
        "/certifications",
        "/certifications/new",
        certification_path,
        f"/people/{engineer}/assessments/new",
        f"/people/{engineer}/awards/new",
        award_path,
        f"/awards/{world.award_ids[1]}",  # active: its change forms
        "/imports",
    ):
        page.goto(f"{live_server}{path}")
        assert _fits_a_phone(page), f"{path} scrolls sideways at 360 px"
    page.screenshot(path=str(screenshots / "portal-imports-phone.png"), full_page=True)
    page.goto(f"{live_server}/awards/{world.award_ids[1]}")
    page.screenshot(path=str(screenshots / "portal-award-phone.png"), full_page=True)
    page.goto(f"{live_server}{certification_path}")
    page.screenshot(path=str(screenshots / "portal-certification-phone.png"), full_page=True)
