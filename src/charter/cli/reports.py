"""``charter report program NAME`` and ``charter report summary``: the program reports."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from charter.cli.common import ACTOR, console, transaction
from charter.reports.schemas import ReportTable

NAMES = "certified-headcount, time-to-certify, renewals, expiry-timeline, firms-at-risk, " \
    "tier-movements, criteria-impact, webhook-health, licensing"  # fmt: skip


def _rich(table: ReportTable) -> Table:
    shown = Table(title=table.title)
    for column in table.columns:
        shown.add_column(
            column.label, justify="left" if column.kind.value in ("text", "date") else "right"
        )
    for row in table.rows:
        shown.add_row(
            *["" if row.get(c.key) is None else str(row.get(c.key)) for c in table.columns]
        )
    return shown


def program_report(
    name: Annotated[str, typer.Argument(help=f"The report: {NAMES}.")],
    months: Annotated[int | None, typer.Option("--months", help="Months back (1 to 36).")] = None,
    days: Annotated[int | None, typer.Option("--days", help="Horizon: 30, 60 or 90.")] = None,
    csv_table: Annotated[
        str | None, typer.Option("--csv", help="Print this table of the report as CSV.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """A program report, as the portal and the API give it."""
    from charter.reports import service
    from charter.reports.api import pick_table
    from charter.reports.csvfile import table_csv

    with transaction() as db:
        report = service.run_report(db, ACTOR, name=name, months=months, days=days)
    if csv_table is not None:
        typer.echo(table_csv(pick_table(report, csv_table)), nl=False)
        return
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    out = console()
    out.print(f"{report.title}: {report.description}", markup=False)
    for table in report.tables:
        out.print(_rich(table))


def summary_report(
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The KPI summary of a period against the previous period of the same length."""
    from charter.reports import service

    with transaction() as db:
        summary = service.program_summary(db, ACTOR, start=start.date(), end=end.date())
    if as_json:
        typer.echo(json.dumps(summary.model_dump(mode="json"), indent=2))
        return
    shown = Table(
        title=f"{summary.start} to {summary.end} against {summary.previous_start} to "
        f"{summary.previous_end}"
    )
    for column in ("figure", "period", "previous", "change"):
        shown.add_column(column, justify="left" if column == "figure" else "right")
    for figure in [*summary.figures, *summary.tiers, *summary.alerts]:
        shown.add_row(
            figure.label, str(figure.current), str(figure.previous), f"{figure.change:+d}"
        )
    console().print(shown)
