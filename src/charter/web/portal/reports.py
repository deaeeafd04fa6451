"""The report pages: the list, each report with its charts and tables, the printable summary.

Vendor staff only: a partner user gets the 404 page, as for another firm's records. The
figures come from the reports service, the same call the API makes, so the page, the JSON and
the CSV agree.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from charter.core import clock
from charter.core.auth import Principal
from charter.core.errors import Invalid, NotFound
from charter.deps import DbSession, api_router, offloaded
from charter.reports import service
from charter.reports.schemas import ColumnKind, ReportOut
from charter.web.charts import chart_of, charts_of, render_svg
from charter.web.i18n import N_
from charter.web.pages import SECURITY_HEADERS, redirect, render, signed_in
from charter.web.portal.access import not_found_page

router = api_router(include_in_schema=False)

# A chart is its own document, shown through <img>: pygal styles it with an inline <style>,
# which only this response's policy allows; it runs no script and loads nothing.
SVG_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
Months = Annotated[int | None, Query(ge=1, le=36)]
Days = Annotated[int | None, Query()]


def _invalid(request: Request, principal: Principal, error: Invalid) -> Response:
    return render(
        request,
        "error.html",
        {
            "principal": principal,
            "title": N_("Check the address"),
            "message": error.detail,
            "status": 422,
        },
        status_code=422,
    )


def format_cell(value: Any, kind: ColumnKind) -> str:
    """A table cell as the page shows it."""
    if value is None:
        return "\N{EN DASH}"
    if kind is ColumnKind.PERCENT:
        return f"{value:.1f}%"
    if kind is ColumnKind.NUMBER and isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


@router.get("/reports", response_class=HTMLResponse)
def report_list(request: Request, db: DbSession) -> Response:
    """The reports the signed-in staff member may open, and the KPI summary's form."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    try:
        kinds = service.list_reports(principal)
    except NotFound:
        return not_found_page(request, principal)
    today = clock.now().date()
    return render(
        request,
        "reports/index.html",
        {
            "principal": principal,
            "kinds": kinds,
            "start": today.replace(day=1),
            "end": today,
        },
    )


@router.get("/reports/summary", response_class=HTMLResponse)
@offloaded
def summary_page(
    request: Request,
    db: DbSession,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    """The printable KPI summary of a period against the previous one of the same length."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    today = clock.now().date()
    end = end or today
    start = start or end - timedelta(days=29)
    try:
        summary = service.program_summary(db, principal, start=start, end=end)
    except NotFound:
        return not_found_page(request, principal)
    except Invalid as error:
        return _invalid(request, principal, error)
    return render(request, "reports/summary.html", {"principal": principal, "summary": summary})


def _query(months: int | None, days: int | None) -> str:
    values = {k: v for k, v in (("months", months), ("days", days)) if v is not None}
    return urlencode(values)


@router.get("/reports/{name}", response_class=HTMLResponse)
@offloaded
def report_page(
    request: Request, db: DbSession, name: str, months: Months = None, days: Days = None
) -> Response:
    """One report: its charts, each followed by its table, then its other tables."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    try:
        kind = service.report_kind(principal, name)
        report = service.run_report(db, principal, name=name, months=months, days=days)
    except NotFound:
        return not_found_page(request, principal)
    except Invalid as error:
        return _invalid(request, principal, error)
    query = _query(months, days)
    charts = charts_of(name)
    charted = {chart.table for chart in charts}
    return render(
        request,
        "reports/report.html",
        {
            "principal": principal,
            "kind": kind,
            "report": report,
            "charts": charts,
            "other_tables": [table for table in report.tables if table.key not in charted],
            "query": query,
            "format_cell": format_cell,
            "csv_href": lambda table: (
                f"/api/v1/reports/{name}?"
                + urlencode({"format": "csv", "table": table, **dict(_pairs(months, days))})
            ),
        },
    )


def _pairs(months: int | None, days: int | None) -> list[tuple[str, int]]:
    return [(k, v) for k, v in (("months", months), ("days", days)) if v is not None]


@router.get("/reports/{name}/charts/{chart}.svg")
@offloaded
def chart_image(
    request: Request,
    db: DbSession,
    name: str,
    chart: str,
    months: Months = None,
    days: Days = None,
) -> Response:
    """One chart of a report as an SVG image."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    try:
        service.report_kind(principal, name)
        found = chart_of(name, chart)
        if found is None:
            return not_found_page(request, principal)
        report: ReportOut = service.run_report(db, principal, name=name, months=months, days=days)
    except NotFound:
        return not_found_page(request, principal)
    except Invalid as error:
        return _invalid(request, principal, error)
    return Response(render_svg(report, found), media_type="image/svg+xml", headers=SVG_HEADERS)
