"""In a real browser: the API documentation renders under its Content-Security-Policy.

Chromium reports every resource or script the policy blocks as a console error, which fails
the ``page`` fixture; the page must also refuse to be framed by another site.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.core.auth import Role

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(),
    reason="/usr/bin/chromium is missing: `make browser` installs Debian's chromium",
)

TIMEOUT_MS = 15_000


def test_swagger_ui_renders_the_api_under_its_policy(page, live_server, screenshots):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(f"{live_server}/api/docs")
    page.locator(".swagger-ui .info .title").filter(has_text="Charter").wait_for(timeout=TIMEOUT_MS)
    page.locator(".opblock-summary-path").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".opblock").count() > 20
    page.locator(".opblock-summary").first.click()
    page.locator(".opblock-body").first.wait_for(timeout=TIMEOUT_MS)
    page.screenshot(path=str(screenshots / "api-docs.png"))
    assert violations == []


def test_another_site_cannot_frame_the_docs(browser, live_server):
    context = browser.new_context()
    try:
        tab = context.new_page()
        with tab.expect_console_message(
            lambda message: "frame-ancestors" in message.text, timeout=TIMEOUT_MS
        ):
            tab.set_content(f'<iframe id="docs" src="{live_server}/api/docs"></iframe>')
        assert tab.frame_locator("#docs").locator(".swagger-ui").count() == 0
    finally:
        context.close()


def test_authorize_takes_an_api_key_that_try_it_out_then_sends(page, live_server, make):
    admin = make.login(Role.ADMIN)
    page.goto(f"{live_server}/api/docs")
    page.locator(".swagger-ui .auth-wrapper .authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    dialog.locator("input").first.fill(admin.token)
    dialog.locator("button.authorize").click()
    dialog.locator("button.close-modal").click()

    operation = page.locator("#operations-users-who_am_i_api_v1_users_me_get")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    answer = operation.locator(".live-responses-table .response .response-col_status").first
    answer.wait_for(timeout=TIMEOUT_MS)
    assert answer.inner_text().strip() == "200"
    body = operation.locator(".live-responses-table .response-col_description pre").first
    assert admin.user.email in body.inner_text()
