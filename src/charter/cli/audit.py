"""``charter audit``: checks over the tamper-evident events log, and its signed checkpoints."""

from __future__ import annotations

from pathlib import Path

import typer

from charter.cli.common import ACTOR, error_console, transaction
from charter.core import eventverify

audit_app = typer.Typer(help="Audit the events log.", no_args_is_help=True)


def _fail(message: str) -> None:
    error_console().print(f"error: {message}", markup=False)


@audit_app.command("verify")
def verify(
    checkpoints_file: Path | None = typer.Option(
        None,
        "--checkpoints",
        help="Signed checkpoints kept elsewhere (JSON Lines, from `charter audit checkpoints "
        "--export` or /audit/checkpoints): also check the log is the history they vouch for.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
) -> None:
    """Walk the events log and check every entry's hash chain; exit 1 at the first bad entry.

    With --checkpoints, also check each checkpoint's signature against the issuer's keys
    (retired ones too) and that the log still holds its entry with exactly its hash: a
    truncated log, a rewritten history or a forged checkpoint each fail with a line saying so.
    """
    if checkpoints_file is None:
        with transaction() as db:
            report = eventverify.verify_chain(db)
        if report.ok:
            typer.echo(f"chain intact: {report.checked} entries")
            return
        _fail(f"chain broken after {report.checked} good entries: {report.problem}")
        raise typer.Exit(1)
    _verify_with_checkpoints(checkpoints_file)


def _verify_with_checkpoints(path: Path) -> None:
    from charter.crypto import checkpointverify

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"cannot read {path}: {error}")
        raise typer.Exit(1) from None
    with transaction() as db:
        report = checkpointverify.verify_checkpoints(db, lines)
    chain = report.chain
    if not chain.ok:
        _fail(f"chain broken after {chain.checked} good entries: {chain.problem}")
    for finding in report.findings:
        _fail(f"{finding.kind}: {finding.message}")
    if not report.ok:
        raise typer.Exit(1)
    latest = report.latest
    newest = "" if latest is None else f" (the latest at entry #{latest.seq})"
    typer.echo(f"chain intact: {chain.checked} entries; {report.held} checkpoints hold{newest}")


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint of the events log's head now, with the issuer's key.

    It is signed only if the chain verifies from the latest checkpoint to the head.
    """
    from charter.crypto import checkpoints

    with transaction() as db:
        row = checkpoints.create_checkpoint(db, ACTOR)
        statement = checkpoints.statement_of(row)
    typer.echo(
        f"checkpoint {row.id}: entry #{statement.seq} ({statement.hash}), "
        f"{statement.count} entries, signed {statement.checkpointed_at} by "
        f"{statement.verification_method}"
    )


@audit_app.command("checkpoints")
def list_checkpoints(
    export: Path | None = typer.Option(
        None,
        "--export",
        help="Write every checkpoint to this file as JSON Lines, to keep somewhere else.",
        dir_okay=False,
    ),
) -> None:
    """List the signed checkpoints of the events log, or export them with --export FILE."""
    from charter.crypto import checkpoints

    with transaction() as db:
        rows = checkpoints.all_checkpoints(db)
        text = checkpoints.jsonl(rows)
        statements = [(row.id, checkpoints.statement_of(row)) for row in rows]
    if export is not None:
        try:
            export.write_text(text, encoding="utf-8")
        except OSError as error:
            _fail(f"cannot write {export}: {error}")
            raise typer.Exit(1) from None
        typer.echo(f"{len(rows)} checkpoints written to {export}")
        return
    # Plain lines, not a table: hashes and verification methods are copied from here, so they
    # are never wrapped or cut (and "did:key:" never turns into an emoji).
    for identity, statement in statements:
        typer.echo(
            f"{identity}  #{statement.seq}  {statement.hash}  {statement.checkpointed_at}  "
            f"{statement.verification_method}"
        )
