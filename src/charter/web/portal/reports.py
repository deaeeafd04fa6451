"""The report pages: the list, each report with its charts and tables, the printable summary.

Vendor staff only: a partner user gets the 404 page, as for another firm's records. The
figures come from the reports service, the same call the API makes, so the page, the JSON and
the CSV agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
from charter.reports.schemas import ColumnKind, Figure, ReportOut, ReportTable, Summary
from charter.web.charts import chart_of, charts_of, render_svg
from charter.web.i18n import N_, SOURCE, Language
from charter.web.pages import SECURITY_HEADERS, language_of, redirect, render, signed_in
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
    language = language_of(request)
    message = error.detail
    if language is not SOURCE and error.errors:
        known = _formatted(language, service.ERROR_FORMATS)
        message = "; ".join(
            f"{item.field}: {known.get(item.detail) or language.text(item.detail)}"
            for item in error.errors
        )
    return render(
        request,
        "error.html",
        {
            "principal": principal,
            "title": N_("Check the address"),
            "message": message,
            "status": 422,
        },
        status_code=422,
    )


def _formatted(
    language: Language, formats: Iterable[tuple[str, Mapping[str, object]]]
) -> dict[str, str]:
    """Each format filled with its values, in English (as it is shown) and in ``language``;
    a format naming a value not given (another report's parameter) is left out."""
    found = {}
    for english, values in formats:
        try:
            shown = english % values
        except (KeyError, ValueError, TypeError):
            continue
        found[shown] = language.filled(english, values)
    return found


def localized_report(report: ReportOut, language: Language) -> ReportOut:
    """``report`` as a page shows it in ``language``: its titles, descriptions, headings and
    label cells translated (the API's and the CSV's stay in English); the same when English."""
    if language is SOURCE:
        return report
    filled = _formatted(language, ((text, report.parameters) for text in service.FORMATS))

    def text(value: str) -> str:
        return filled.get(value) or language.text(value)

    def table(found: ReportTable) -> ReportTable:
        labels = {
            column.key: service.LABEL_CELLS[column.key]
            for column in found.columns
            if column.key in service.LABEL_CELLS
        }
        rows = found.rows
        if labels:
            rows = [
                {
                    key: language.text(value)
                    if isinstance(value, str) and value in labels.get(key, ())
                    else value
                    for key, value in row.items()
                }
                for row in rows
            ]
        columns = [
            column.model_copy(update={"label": text(column.label)}) for column in found.columns
        ]
        return found.model_copy(
            update={"title": text(found.title), "columns": columns, "rows": rows}
        )

    return report.model_copy(
        update={
            "title": text(report.title),
            "description": text(report.description),
            "tables": [table(found) for found in report.tables],
        }
    )


def localized_summary(summary: Summary, language: Language) -> Summary:
    """``summary`` with its figures' labels in ``language`` (tiers keep their own names)."""
    if language is SOURCE:
        return summary

    def figures(found: list[Figure]) -> list[Figure]:
        return [item.model_copy(update={"label": language.text(item.label)}) for item in found]

    return summary.model_copy(
        update={"figures": figures(summary.figures), "alerts": figures(summary.alerts)}
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
    summary = localized_summary(summary, language_of(request))
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
    report = localized_report(report, language_of(request))
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
    language = language_of(request)
    svg = render_svg(localized_report(report, language), found, language)
    headers = {**SVG_HEADERS, "Content-Language": language.tag}
    return Response(svg, media_type="image/svg+xml", headers=headers)
