"""``charter tiers`` and ``charter report``: partner tiers and what puts them at risk."""

from __future__ import annotations

import typer

tiers_app = typer.Typer(help="Partner tiers.", no_args_is_help=True)
report_app = typer.Typer(help="Reports.", no_args_is_help=True)
