"""``charter tiers`` and ``charter report``: partner tiers and what puts them at risk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from charter.cli.common import ACTOR, RichProgress, console, operator, transaction
from charter.core.errors import Invalid
from charter.tiers.schemas import ForecastItem, TerminationReport

tiers_app = typer.Typer(help="Partner tiers.", no_args_is_help=True)
report_app = typer.Typer(help="Reports.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@tiers_app.command("sweep")
def sweep() -> None:
    """Re-evaluate every firm's tier now, applying grace expiries (what the worker runs nightly)."""
    from charter.tiers import service

    with transaction() as db:
        report = service.sweep(db, operator(db))
    console().print(f"{report.firms} firms evaluated, {report.changed} standings changed")


@tiers_app.command("show")
def show(
    partner_id: Annotated[str, typer.Argument(help="The firm (prt_…).")], as_json: JsonFlag = False
) -> None:
    """A firm's tier in each program, and what the next tier up needs."""
    from charter.tiers.standings import firm_tiers

    with transaction() as db:
        standings = firm_tiers(db, ACTOR, partner_id=partner_id)
    if as_json:
        typer.echo(json.dumps([item.model_dump(mode="json") for item in standings], indent=2))
        return
    out = console()
    if not standings:
        out.print("no tier scheme is in force", markup=False)
    for item in standings:
        held = item.tier.name if item.tier else "no tier"
        out.print(f"{item.program}: {held}", markup=False)
        if item.at_risk:
            out.print(
                f"  at risk until {item.grace_until:%Y-%m-%d}: {'; '.join(item.missing)}",
                markup=False,
            )
        if item.next_tier is not None:
            out.print(
                f"  next: {item.next_tier.name}: {'; '.join(item.next_tier_missing)}",
                markup=False,
            )


@tiers_app.command("import-track-records")
def import_track_records(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="UTF-8 CSV file."),
    ],
) -> None:
    """Track records: external_id,partner_external_id,metric,value[,recorded_at,source]."""
    from charter.tiers import track_records

    with RichProgress() as progress, transaction() as db:
        report = track_records.import_track_records(
            db, operator(db), source=file, progress=progress
        )
    console().print(
        f"{report.file_name}: {report.rows} rows, {report.created} track records created, "
        f"{report.skipped_count} skipped",
        markup=False,
    )


def _print_termination(report: TerminationReport) -> None:
    out = console()
    out.print(f"{report.partner_name} ({report.partner_id}) terminated", markup=False)
    out.print(f"  reason: {report.reason}", markup=False)
    out.print(f"  at: {report.terminated_at.isoformat()}", markup=False)
    out.print(
        f"  licenses: {'marked for wind-down' if report.licenses_wind_down else 'unchanged'}",
        markup=False,
    )
    out.print(f"  firm credentials revoked: {len(report.firm_credentials_revoked)}", markup=False)
    for badge_id in report.firm_credentials_revoked:
        out.print(f"    {badge_id}", markup=False)
    out.print(f"  users disabled: {len(report.users_disabled)}", markup=False)
    out.print(f"  API keys revoked: {len(report.api_keys_revoked)}", markup=False)
    out.print(
        f"  people (they keep their personal credentials): {len(report.people)}", markup=False
    )
    for person in report.people:
        kept = person.get("credentials_kept", [])
        codes = ", ".join(f"{item['certification_code']} ({item['status']})" for item in kept)
        out.print(f"    {person['name']} ({person['person_id']}): {codes or 'none'}", markup=False)


@tiers_app.command("terminate")
def terminate(
    partner_id: Annotated[str, typer.Argument(help="The firm (prt_…).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the firm is terminated.")],
    as_json: JsonFlag = False,
) -> None:
    """Terminate a firm: revoke its badges, disable its users and keys; print the final report."""
    from charter.tiers import flows

    if not reason.strip():
        raise Invalid.field("reason", "say why the firm is terminated")
    with transaction() as db:
        report = flows.terminate_partner(db, operator(db), partner_id=partner_id, reason=reason)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_termination(report)


@report_app.command("termination")
def termination_report(
    partner_id: Annotated[str, typer.Argument(help="The terminated firm (prt_…).")],
    as_json: JsonFlag = False,
) -> None:
    """The final report made when a firm was terminated."""
    from charter.tiers import termination

    with transaction() as db:
        report = termination.get_report(db, ACTOR, partner_id=partner_id)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_termination(report)


def _forecast_table(items: list[ForecastItem], days: int) -> Table:
    table = Table(title=f"Firms falling below their tier within {days} days unless people renew")
    for column in ("firm", "tier", "falls below", "missing then", "renewals that would save it"):
        table.add_column(column)
    for item in items:
        savers = "; ".join(
            f"{person.name} {person.certification_code} (expires {person.valid_until:%Y-%m-%d})"
            for person in item.renewals
        )
        table.add_row(
            f"{item.partner_name} ({item.partner_id})",
            item.tier.name,
            f"{item.falls_below_on:%Y-%m-%d}",
            "; ".join(item.missing),
            savers or "none: new certifications are needed",
        )
    return table


@report_app.command("at-risk")
def at_risk(
    days: Annotated[int, typer.Option("--days", help="Horizon: 30, 60 or 90 days.")] = 30,
    as_json: JsonFlag = False,
) -> None:
    """Firms that will fall below their tier within the horizon, and whose renewals save them."""
    from charter.tiers.forecast import forecast

    with transaction() as db:
        items = forecast(db, ACTOR, days=days)
    if as_json:
        typer.echo(json.dumps([item.model_dump(mode="json") for item in items], indent=2))
        return
    if not items:
        console().print(f"no firm falls below its tier within {days} days", markup=False)
        return
    console().print(_forecast_table(items, days))
