"""``charter audit``: checks over the tamper-evident events log."""

from __future__ import annotations

import typer

from charter.cli.common import error_console, transaction
from charter.core import eventverify

audit_app = typer.Typer(help="Audit the events log.", no_args_is_help=True)


@audit_app.command("verify")
def verify() -> None:
    """Walk the events log and check every entry's hash chain; exit 1 at the first bad entry."""
    with transaction() as db:
        report = eventverify.verify_chain(db)
    if report.ok:
        typer.echo(f"chain intact: {report.checked} entries")
        return
    error_console().print(
        f"error: chain broken after {report.checked} good entries: {report.problem}",
        markup=False,
    )
    raise typer.Exit(1)
