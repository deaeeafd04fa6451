"""``charter keys``: the issuer's signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from charter.cli.common import operator, transaction
from charter.config import get_settings
from charter.crypto import keyring
from charter.crypto.models import KeyPurpose

keys_app = typer.Typer(help="The issuer's signing keys.", no_args_is_help=True)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


@keys_app.command("list")
def list_keys() -> None:
    """List every signing key, the active ones and the retired ones (public parts only)."""
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
            f"{key.key_id}  {key.purpose.value:<10}  {state}  {key.verification_method}  "
            f"created {_when(key.created_at)}{retired}"
        )


@keys_app.command("rotate")
def rotate(
    purpose: Annotated[
        KeyPurpose,
        typer.Option(
            help="credential: badges, status lists, checkpoints (kept for ever); "
            "token: signed tokens (published while their tokens live)"
        ),
    ] = KeyPurpose.CREDENTIAL,
) -> None:
    """Retire the active key of a purpose and sign with a new one; retired keys keep verifying."""
    settings = get_settings()
    with transaction() as db:
        key = keyring.rotate_key(db, operator(db), settings, purpose=purpose)
    if purpose is KeyPurpose.TOKEN:
        kid = key.verification_method.removeprefix(keyring.THUMBPRINT_URI_PREFIX)
        typer.echo(f"new token signing key {key.key_id}: kid {kid}")
    else:
        typer.echo(f"new signing key {key.key_id}: {key.verification_method}")


@keys_app.command("prune")
def prune() -> None:
    """Delete retired token keys whose tokens have all expired (they are no longer published)."""
    settings = get_settings()
    with transaction() as db:
        dropped = keyring.drop_expired_token_keys(db, operator(db), settings)
    if not dropped:
        typer.echo("no retired token key is past its window")
    for kid in dropped:
        typer.echo(f"dropped token key {kid}")
