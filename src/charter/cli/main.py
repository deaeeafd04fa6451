"""The ``charter`` command: thin wrappers that parse, call services and print.

Domain errors become one ``error: ...`` line on standard error and exit status 1 (usage errors
keep Typer's exit status 2); that happens once, in :class:`CharterGroup`, for every command.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from typer.core import TyperGroup

from charter.cli import (
    accounts,
    approvals,
    audit,
    keys,
    licenses,
    partners,
    reports,
    taxonomy,
    tiers,
    usage,
)
from charter.cli import imports as import_commands
from charter.cli import verify as verify_command
from charter.cli import worker as worker_command
from charter.cli.common import OPERATOR_ENV, error_console, remember_operator
from charter.config import get_settings
from charter.core.errors import CharterError


def print_error(error: CharterError) -> None:
    """One line for the error, then one line per listed problem it does not already say."""
    err = error_console()
    err.print(f"error: {error.detail}", markup=False)
    for item in getattr(error, "errors", []):
        line = f"{item.field}: {item.detail}" if item.field else item.detail
        if line != error.detail:
            err.print(f"  {line}", markup=False)


class CharterGroup(TyperGroup):
    """The root command group: turns errors a user can act on into a message and exit 1."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; report domain and database errors without a traceback."""
        try:
            return super().invoke(ctx)
        except CharterError as error:
            print_error(error)
            raise typer.Exit(1) from None
        except IntegrityError as error:
            error_console().print(
                f"error: the change conflicts with existing data ({error.orig})", markup=False
            )
            raise typer.Exit(1) from None
        except (OperationalError, ProgrammingError) as error:
            error_console().print(
                f"error: database: {str(error.orig).strip().splitlines()[0]} "
                "(is the database reachable and upgraded? run `charter db upgrade`)",
                markup=False,
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=CharterGroup,
    name="charter",
    help="Charter: certify partners' people, issue awards, prove who is qualified.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts.users_app, name="users")
app.add_typer(partners.partners_app, name="partners")
app.add_typer(accounts.api_keys_app, name="api-keys")
app.add_typer(import_commands.import_app, name="import")
app.add_typer(import_commands.awards_app, name="awards")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(tiers.tiers_app, name="tiers")
app.add_typer(tiers.report_app, name="report")
tiers.report_app.command("program")(reports.program_report)
tiers.report_app.command("summary")(reports.summary_report)
app.add_typer(licenses.licenses_app, name="licenses")
app.add_typer(usage.usage_app, name="usage")
app.add_typer(approvals.approvals_app, name="approvals")
app.add_typer(taxonomy.taxonomy_app, name="taxonomy")
app.command("verify")(verify_command.verify)
app.command("worker")(worker_command.worker)


@app.callback()
def root(
    operator: Annotated[
        str | None,
        typer.Option(
            "--as",
            envvar=OPERATOR_ENV,
            metavar="EMAIL",
            help="The user making the change (commands that change something need one); "
            "their permissions apply and the events log names them.",
        ),
    ] = None,
) -> None:
    """Charter: certify partners' people, issue awards, prove who is qualified."""
    remember_operator(operator)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (PostgreSQL; SQLite: see README).")
    ] = 1,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log every request (default: CHARTER_ACCESS_LOG, on).",
            show_default=False,
        ),
    ] = None,
    log_format: Annotated[
        str, typer.Option(help="text, or json: one JSON object a line.")
    ] = "text",
) -> None:
    """Serve the web portal and the API with Uvicorn."""
    import uvicorn

    from charter.core.logs import log_config

    if log_format not in {"text", "json"}:
        raise typer.BadParameter("use text or json", param_hint="--log-format")
    settings = get_settings()
    logs = access_log if access_log is not None else settings.access_log
    uvicorn.run(
        "charter.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        access_log=logs,
        log_config=log_config(
            settings.log_level, "json" if log_format == "json" else "text", access_log=logs
        ),
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (creates it on a new database)."""
    from charter.db import migrate

    url = get_settings().database_url
    migrate.upgrade(url)
    typer.echo("database schema is up to date")


@app.command()
def demo(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve once seeded (or only seed).")
    ] = True,
) -> None:
    """Run Charter on SQLite with a realistic sample program (in CHARTER_DATA_DIR)."""
    # Imported on demand: the demo pulls in sample data (and Faker) no other command needs.
    from charter.demo.serving import run_demo

    run_demo(host=host, port=port, serve=serve)


def main() -> None:
    """Entry point for ``python -m charter.cli.main``."""
    app()


if __name__ == "__main__":
    main()
