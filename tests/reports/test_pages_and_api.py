"""The report pages, the API's JSON and its CSV give the same figures; only staff see them."""

from __future__ import annotations

import csv
import io

import pytest
from lxml import html

from charter.core.auth import Role
from charter.reports import service
from charter.reports.csvfile import table_csv
from charter.reports.service import REPORTS
from tests.reports.world import build
from tests.web.helpers import sign_in, web_user

STAFF = [Role.ADMIN, Role.PROGRAM_MANAGER, Role.GOVERNANCE_OWNER, Role.AUDITOR]


@pytest.fixture
def world(db, system, frozen_clock):
    return build(db, system, frozen_clock)


def _signed_in(client, sessions, role, partner_id=None):
    user = web_user(sessions, role, partner_id=partner_id)
    assert sign_in(client, user.email, user.password).status_code == 303


def _page_tables(text):
    tree = html.fromstring(text)
    found = {}
    for table in tree.xpath("//table[@data-table]"):
        rows = []
        for tr in table.xpath("./tbody/tr"):
            cells = {td.get("data-column"): td.text_content() for td in tr.xpath("./td")}
            if None not in cells:
                rows.append(cells)
        found[table.get("data-table")] = rows
    return found


def _shown(value, kind):
    if value is None:
        return "\N{EN DASH}"
    if kind == "percent":
        return f"{value:.1f}%"
    if kind == "number" and isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def test_page_json_and_csv_agree_for_every_report(client, make, sessions, system, world):
    manager = make.login(Role.PROGRAM_MANAGER)
    for kind in REPORTS:
        with sessions() as db:
            expected = service.run_report(db, system, name=kind.name)
        answer = client.get(f"/api/v1/reports/{kind.name}", headers=manager.headers)
        assert answer.status_code == 200, (kind.name, answer.text)
        body = answer.json()
        assert [t["rows"] for t in body["tables"]] == [t.rows for t in expected.tables]
        for table in expected.tables:
            by_query = client.get(
                f"/api/v1/reports/{kind.name}",
                params={"format": "csv", "table": table.key},
                headers=manager.headers,
            )
            assert by_query.status_code == 200
            assert by_query.headers["content-type"].startswith("text/csv")
            assert by_query.text == table_csv(table)
            parsed = list(csv.DictReader(io.StringIO(by_query.text)))
            assert len(parsed) == len(table.rows)
        by_accept = client.get(
            f"/api/v1/reports/{kind.name}", headers={**manager.headers, "Accept": "text/csv"}
        )
        assert by_accept.text == table_csv(expected.tables[0])

    _signed_in(client, sessions, Role.PROGRAM_MANAGER)
    for kind in REPORTS:
        with sessions() as db:
            expected = service.run_report(db, system, name=kind.name)
        page = client.get(f"/reports/{kind.name}")
        assert page.status_code == 200, kind.name
        shown = _page_tables(page.text)
        for table in expected.tables:
            kinds = {column.key: column.kind.value for column in table.columns}
            assert shown[table.key] == [
                {key: _shown(row.get(key), kinds[key]) for key in kinds} for row in table.rows
            ], (kind.name, table.key)
        tree = html.fromstring(page.text)
        for src in tree.xpath("//figure[@class='chart']/img/@src"):
            chart = client.get(src)
            assert chart.status_code == 200
            assert chart.headers["content-type"].startswith("image/svg+xml")
            # Shown through <img>, where nothing runs; its policy forbids scripts anyway.
            assert "script-src" not in chart.headers["content-security-policy"]
            assert "default-src 'none'" in chart.headers["content-security-policy"]
            assert 'xlink:href="http' not in chart.text
            assert 'src="http' not in chart.text
        assert tree.xpath("//a[@download]/@href")


def test_headcount_page_shows_its_figures_in_chart_and_table(client, sessions, world):
    _signed_in(client, sessions, Role.AUDITOR)
    page = client.get("/reports/certified-headcount?months=5")
    assert page.status_code == 200
    assert [row["people"] for row in _page_tables(page.text)["totals"]] == ["4", "3", "3", "3", "4"]
    tree = html.fromstring(page.text)
    [src] = tree.xpath("//figure[@id='chart-totals']/img/@src")
    assert src == "/reports/certified-headcount/charts/totals.svg?months=5"
    svg = client.get(src).text
    assert "Certified people at each month&#39;s end" in svg or "month's end" in svg
    assert ">2026-03<" in svg
    assert ">2026-07<" in svg


@pytest.mark.parametrize("role", STAFF)
def test_staff_open_the_reports(client, make, sessions, role):
    login = make.login(role)
    assert client.get("/api/v1/reports/renewals", headers=login.headers).status_code == 200
    _signed_in(client, sessions, role)
    index = client.get("/reports")
    assert index.status_code == 200
    assert 'href="/reports/licensing"' in index.text
    assert client.get("/reports/licensing").status_code == 200
    dashboard = client.get("/dashboard")
    assert 'href="/reports/expiry-timeline"' in dashboard.text


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_MEMBER])
def test_partner_users_are_told_reports_do_not_exist(client, make, sessions, system, role):
    from tests.partners.factories import partner

    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
    login = make.login(role, partner_id=firm.id)
    answer = client.get("/api/v1/reports/renewals", headers=login.headers)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    _signed_in(client, sessions, role, partner_id=firm.id)
    for path in (
        "/reports",
        "/reports/renewals",
        "/reports/summary",
        "/reports/renewals/charts/rates.svg",
    ):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "Page not found" in page.text
    assert "/reports" not in client.get("/dashboard").text


def test_unknown_reports_and_bad_parameters(client, make, sessions):
    login = make.login(Role.ADMIN)
    missing = client.get("/api/v1/reports/nothing-here", headers=login.headers)
    assert missing.status_code == 404
    bad_table = client.get(
        "/api/v1/reports/renewals", params={"format": "csv", "table": "x"}, headers=login.headers
    )
    assert bad_table.status_code == 422
    assert bad_table.json()["errors"][0]["field"] == "table"
    bad_days = client.get("/api/v1/reports/firms-at-risk?days=45", headers=login.headers)
    assert bad_days.status_code == 422
    assert bad_days.json()["errors"][0]["field"] == "days"
    bad_months = client.get("/api/v1/reports/tier-movements?months=99", headers=login.headers)
    assert bad_months.status_code == 422
    _signed_in(client, sessions, Role.ADMIN)
    assert client.get("/reports/nothing-here").status_code == 404
    assert client.get("/reports/renewals/charts/nothing.svg").status_code == 404
    backwards = client.get("/reports/summary?from=2026-05-01&to=2026-04-01")
    assert backwards.status_code == 422
    assert "must be on or after from" in backwards.text


def test_strangers_are_sent_to_sign_in(client):
    assert client.get("/reports", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/v1/reports/renewals").status_code == 401


def test_the_summary_page_shows_the_service_figures(client, sessions, system, world):
    from datetime import date

    with sessions() as db:
        summary = service.program_summary(db, system, start=date(2026, 6, 1), end=date(2026, 7, 20))
    _signed_in(client, sessions, Role.GOVERNANCE_OWNER)
    page = client.get("/reports/summary?from=2026-06-01&to=2026-07-20")
    assert page.status_code == 200
    tree = html.fromstring(page.text)
    for table, figures in (
        ("figures", summary.figures),
        ("tiers", summary.tiers),
        ("alerts", summary.alerts),
    ):
        shown = {
            row.get("data-figure"): (
                row.xpath("string(td[@class='kind-count current'])"),
                row.xpath("string(td[@class='kind-count previous'])"),
            )
            for row in tree.xpath(f"//table[@id='{table}']/tbody/tr[@data-figure]")
        }
        assert shown == {f.key: (str(f.current), str(f.previous)) for f in figures}, table
    assert "2026-04-12 to 2026-05-31" in page.text
    assert client.get("/reports/summary?from=2026-13-01&to=2026-07-20").status_code == 422
