"""``charter usage import``: metered use from CSV, all-or-nothing."""

from __future__ import annotations

import typer

from charter.cli.imports import CsvPath, run_import

usage_app = typer.Typer(help="Usage metering.", no_args_is_help=True)


@usage_app.command("import")
def import_usage(file: CsvPath) -> None:
    """Usage records: license,metric,quantity,occurred_at,record_id (license: its id or key).

    Records already stored (same license and record_id) are skipped: re-runs are safe.
    """
    from charter.licensing.usage_imports import import_usage as importer

    run_import(importer, file, "usage records")
