"""Program reports over HTTP: JSON, or one table as CSV (``?format=csv`` or an Accept of CSV)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Request, Response

from charter.core.errors import Invalid
from charter.deps import CurrentPrincipal, DbSession, api_router, offloaded
from charter.reports import service
from charter.reports.csvfile import filename, table_csv
from charter.reports.schemas import ReportOut, ReportTable

router = api_router()

CSV_EXAMPLE = (
    "code,name,came_due,renewed,lapsed,renewal_rate,lapse_rate\r\nADM-201,Admin,5,4,1,80.0,20.0\r\n"
)


def wants_csv(request: Request, format: str | None) -> bool:
    """Whether the caller asked for CSV: ``format=csv``, or an Accept naming ``text/csv``."""
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


def pick_table(report: ReportOut, key: str | None) -> ReportTable:
    """The table ``key`` of ``report`` (its first when ``None``); names the field at fault."""
    if key is None:
        return report.tables[0]
    for table in report.tables:
        if table.key == key:
            return table
    keys = ", ".join(table.key for table in report.tables)
    raise Invalid.field("table", f"this report's tables are {keys}")


def csv_response(report: ReportOut, table: ReportTable) -> Response:
    """``table`` of ``report`` as a CSV download."""
    return Response(
        table_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename(report.name, table.key)}"'
        },
    )


@router.get(
    "/reports/{name}",
    response_model=ReportOut,
    tags=["reports"],
    responses={
        200: {
            "description": "The report as JSON, or one of its tables as CSV.",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
        }
    },
)
@offloaded
def get_report(
    request: Request,
    db: DbSession,
    actor: CurrentPrincipal,
    name: Annotated[
        str,
        Path(
            min_length=1,
            max_length=64,
            description="The report: certified-headcount, time-to-certify, renewals, "
            "expiry-timeline, firms-at-risk, tier-movements, criteria-impact, webhook-health "
            "or licensing.",
            examples=["renewals"],
        ),
    ],
    format: Annotated[
        Literal["json", "csv"] | None,
        Query(description="`csv` for one table as CSV; JSON otherwise (or by `Accept`)."),
    ] = None,
    table: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The table to give as CSV (the report's first by default).",
            examples=["certifications"],
        ),
    ] = None,
    months: Annotated[
        int | None,
        Query(ge=1, le=36, description="Months back, for reports over time (12 by default)."),
    ] = None,
    days: Annotated[
        int | None,
        Query(description="Forecast horizon of firms-at-risk: 30, 60 or 90 (the default)."),
    ] = None,
) -> ReportOut | Response:
    """A program report (vendor staff): its figures as JSON, or one of its tables as CSV."""
    report = service.run_report(db, actor, name=name, months=months, days=days)
    if wants_csv(request, format):
        return csv_response(report, pick_table(report, table))
    if table is not None:
        pick_table(report, table)
    return report
