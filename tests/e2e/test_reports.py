"""In a real browser: a program manager opens every report, checks a charted figure against
the table that follows the chart, downloads the table as CSV, and prints the KPI summary.

The program is tests/reports/world.py's, so the figures are the hand-computed ones.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from charter.core.auth import Principal, Role
from charter.reports.service import REPORTS
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.reports.world import build
from tests.web.helpers import web_user

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=SKIP_REASON)

SYSTEM = Principal.system("e2e tests")
TIMEOUT_MS = 15_000
VALUE = re.compile(r'<text[^>]*class="value[^"]*"[^>]*>([^<]+)</text>')


def _number(text: str) -> float | None:
    cleaned = text.strip().rstrip("%")
    try:
        return float(cleaned)
    except ValueError:
        return None


def test_a_program_manager_reads_every_report(
    sessions, frozen_clock, live_server, page, screenshots
):
    from playwright.sync_api import expect

    with sessions() as db:
        build(db, SYSTEM, frozen_clock)
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", manager.email)
    page.fill("input[name=password]", manager.password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server}/dashboard")
    page.click("a.tile-link[href='/reports/certified-headcount']")
    expect(page.locator("h1")).to_have_text("Certified headcount")
    # The last month (July) is the world's four certified people, in the table and the chart.
    expect(
        page.locator("#table-totals tbody tr").last.locator("td[data-column=people]")
    ).to_have_text("4")

    for kind in REPORTS:
        page.goto(f"{live_server}/reports")
        page.click(f"#reports a[href='/reports/{kind.name}']")
        expect(page.locator("h1")).to_have_text(kind.title)
        charts = page.locator("figure.chart")
        assert charts.count() >= 1, kind.name
        for index in range(charts.count()):
            figure = charts.nth(index)
            image = figure.locator("img")
            expect(image).to_have_attribute("alt", re.compile("^Chart: "))
            # The chart is a separate request: wait for it to load (or fail) before judging.
            width = image.evaluate(
                "img => img.complete ? img.naturalWidth : new Promise(done => {"
                " img.addEventListener('load', () => done(img.naturalWidth));"
                " img.addEventListener('error', () => done(0)); })"
            )
            assert width > 0, kind.name
            svg = page.request.get(live_server + image.get_attribute("src")).text()
            drawn = {_number(value) for value in VALUE.findall(svg)}
            table = figure.locator("xpath=following-sibling::div[1]//table")
            cells = table.locator(
                "tbody td.kind-count, tbody td.kind-number, tbody td.kind-percent"
            )
            shown = {_number(cells.nth(i).inner_text()) for i in range(cells.count())}
            # Every non-zero figure the chart prints is one its table shows.
            assert {value for value in drawn if value} <= shown, (kind.name, drawn, shown)
        link = page.locator("a.csv").first
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename.startswith(f"charter-{kind.name}-")
        saved = screenshots / download.suggested_filename
        download.save_as(saved)
        rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
        first_table = page.locator("table.report-table").first
        assert len(rows) - 1 == first_table.locator("tbody tr td[data-column]").count() // max(
            1, first_table.locator("thead th").count()
        ), kind.name
        page.screenshot(path=str(screenshots / f"report-{kind.name}.png"), full_page=True)

    page.goto(f"{live_server}/reports/summary?from=2026-06-01&to=2026-07-20")
    headline = page.locator("#figures tr[data-figure=certified_people]")
    expect(headline.locator("td.current")).to_have_text("4")
    expect(headline.locator("td.previous")).to_have_text("3")
    expect(headline.locator("td.change")).to_have_text("+1 (+33.3%)")
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    page.screenshot(path=str(screenshots / "report-summary-print.png"), full_page=True)
