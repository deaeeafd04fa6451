"""In a real browser: a certified person asks for a sign-in link, follows the link read from
the mail a real SMTP server received, turns their name on for a badge, and the badge's
public page then shows it. One screenshot per step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from charter.config import Settings
from charter.core.auth import Principal
from charter.credentials import issuance
from charter.partners.enums import PartnerStatus
from charter.worker.runner import run_until_idle
from tests.codes import Track
from tests.credentials.factories import award
from tests.mail import Inbox
from tests.partners.factories import partner, person
from tests.programs.factories import certification

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(),
    reason="/usr/bin/chromium is missing: `make browser` installs Debian's chromium",
)

SYSTEM = Principal.system("e2e tests")
TIMEOUT_MS = 15_000


@pytest.fixture
def settings(settings: Settings, inbox: Inbox) -> Settings:
    """The live server's settings, sending mail to the test SMTP server."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox.port,
            "smtp_starttls": False,
            "mail_from": "Contoso Partner Program <program@contoso.example>",
        }
    )


def _certified(sessions: sessionmaker[Session]) -> tuple[str, str, str, str]:
    """A person holding one badge: their address, name, award id and credential id."""
    with sessions() as db, db.begin():
        firm = partner(db, SYSTEM, status=PartnerStatus.ACTIVE)
        holder = person(db, SYSTEM, partner_id=firm.id)
        cert = certification(
            db,
            SYSTEM,
            name="Platform Engineer",
            description="Installs, upgrades and troubleshoots the vendor's platform.",
            track=Track.TECHNICAL,
        )
        made = award(db, SYSTEM, person_id=holder.id, certification_id=cert.id)
        credential = issuance.current_credential_for_award(db, made.id)
        assert credential is not None
        return holder.emails[0], holder.display_name, made.id, credential.id


def _sign_in_link(inbox: Inbox, address: str, base: str) -> str:
    [message] = [m for m in inbox.to(address) if "sign-in link" in str(m["Subject"])]
    body = message.get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(re.escape(base) + r"/me/sign-in/\S+", body)
    return link


def test_a_holder_signs_in_by_mail_and_shows_their_name(
    sessions, live_server, page, inbox, screenshots
):
    from playwright.sync_api import expect

    address, name, award_id, credential_id = _certified(sessions)
    page.set_default_timeout(TIMEOUT_MS)

    page.goto(f"{live_server}/credentials/{credential_id}")
    expect(page.locator("#holder")).not_to_have_text(name)

    page.goto(f"{live_server}/me")
    page.locator("#email").fill(address)
    page.screenshot(path=str(screenshots / "holder-sign-in.png"), full_page=True)
    page.locator("#send-link").click()
    expect(page.locator("#link-sent")).to_contain_text("If we know this address")
    page.screenshot(path=str(screenshots / "holder-link-sent.png"), full_page=True)

    run_until_idle(sessions)  # the worker sends the mail
    link = _sign_in_link(inbox, address, live_server)
    page.goto(link)
    page.locator("#sign-in").click()
    expect(page).to_have_url(f"{live_server}/me/badges")
    badge = page.locator(f"#badge-{award_id}")
    expect(badge.locator(".badge-name")).to_have_text("Platform Engineer")
    expect(badge.locator(".name-state")).to_contain_text("not shown")
    expect(badge.locator("a.download-png")).to_have_attribute(
        "href", f"/credentials/{credential_id}/badge.png"
    )
    expect(badge.locator("a.linkedin")).to_have_attribute(
        "href", re.compile(r"^https://www\.linkedin\.com/profile/add\?")
    )
    assert (
        badge.locator("textarea")
        .input_value()
        .startswith(f'<iframe src="{live_server}/credentials/{credential_id}/embed"')
    )
    page.screenshot(path=str(screenshots / "holder-badges.png"), full_page=True)

    badge.locator("button.toggle-name").click()
    expect(page.locator(f"#badge-{award_id} .name-state")).to_contain_text("Your name is shown")
    page.screenshot(path=str(screenshots / "holder-name-shown.png"), full_page=True)

    page.goto(f"{live_server}/credentials/{credential_id}")
    expect(page.locator("#holder")).to_have_text(name)
    page.screenshot(path=str(screenshots / "holder-public-page.png"), full_page=True)

    # The link worked once: following it again is refused.
    response = page.request.get(link)
    assert response.status == 404
