"""``charter keys``: the issuer's signing keys."""

from __future__ import annotations

from datetime import datetime

import typer

from charter.cli.common import operator, transaction
from charter.config import get_settings
from charter.crypto import keyring

keys_app = typer.Typer(help="The issuer's signing keys.", no_args_is_help=True)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


@keys_app.command("list")
def list_keys() -> None:
    """List every signing key, the active one and the retired ones (public parts only)."""
    settings = get_settings()
    with transaction() as db:
        keyring.active_signer(db, settings)  # a fresh deployment shows its first key
        found = keyring.list_keys(db)
    # Plain lines, not a table: verification methods are long and are copied from here, so
    # they must never be wrapped or cut (and "did:key:" must not turn into an emoji).
    for key in found:
        retired = f"  retired {_when(key.retired_at)}" if key.retired_at else ""
        state = "active " if key.active else "retired"
        typer.echo(
            f"{key.key_id}  {state}  {key.verification_method}  "
            f"created {_when(key.created_at)}{retired}"
        )


@keys_app.command("rotate")
def rotate() -> None:
    """Retire the active key and sign with a new one; retired keys keep verifying."""
    settings = get_settings()
    with transaction() as db:
        key = keyring.rotate_key(db, operator(db), settings)
    typer.echo(f"new signing key {key.key_id}: {key.verification_method}")
