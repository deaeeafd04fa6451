"""``charter users`` and ``charter api-keys``."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.table import Column, Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.accounts.models import ApiKey, User
from charter.accounts.schemas import UserOut
from charter.cli.common import ACTOR, console, error_console, operator, transaction
from charter.core import clock
from charter.core.auth import Permission, Principal, Role
from charter.core.errors import Invalid, NotFound
from charter.core.pagination import MAX_LIMIT

users_app = typer.Typer(help="People who sign in to the portal or the API.", no_args_is_help=True)
api_keys_app = typer.Typer(help="API keys for programs.", no_args_is_help=True)


def _resolve_user(db: Session, user: str) -> User:
    """A user by id (``usr_...``) or by email."""
    if user.startswith("usr_"):
        return accounts.get_user(db, user)
    found = db.scalar(select(User).where(User.email == user.strip().lower()))
    if found is None:
        raise NotFound(f"no user with email or id {user!r}")
    return found


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _password(from_stdin: bool, on_command_line: str | None) -> str:
    """The new user's password: asked for twice, unseen, or the first line of standard input."""
    if on_command_line is not None:
        raise Invalid.field(
            "password",
            "--password is no longer accepted: other users of the machine see it in the "
            "process list; use --password-stdin, or answer the prompt",
        )
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    answer: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return answer


def _user_creator(db: Session, role: Role) -> Principal:
    """Who creates a user: the operator, or on a database with no user yet, the first admin's
    own installation (somebody must create the first user, and nobody exists to act as)."""
    if db.scalar(select(User.id).limit(1)) is not None:
        return operator(db)
    if role is not Role.ADMIN:
        raise Invalid.field("role", "the first user must be an admin; act as them after that")
    return ACTOR


USERS_LISTED = 100
"""Users listed when ``--limit`` is not given."""


@users_app.command("list")
def list_users(
    role: Annotated[Role | None, typer.Option(help="Only users with this role.")] = None,
    partner: Annotated[str | None, typer.Option(help="Only this firm's users (prt_…).")] = None,
    disabled: Annotated[
        bool | None,
        typer.Option("--disabled/--enabled", help="Only disabled, or only enabled, users."),
    ] = None,
    q: Annotated[str | None, typer.Option("--search", "-q", help="Email or name contains.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, help=f"List at most this many (default {USERS_LISTED}).")
    ] = USERS_LISTED,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON Lines.")] = False,
) -> None:
    """Users matching every filter given, oldest first (never their password hashes)."""
    found: list[User] = []
    cursor: str | None = None
    more = True
    with transaction() as db:
        while more and len(found) < limit:
            page = accounts.list_users(
                db,
                ACTOR,
                role=role,
                partner_id=partner,
                disabled=disabled,
                q=q,
                cursor=cursor,
                limit=min(MAX_LIMIT, limit - len(found)),
            )
            found.extend(page.items)
            cursor = page.next_cursor
            more = cursor is not None
    shown = [UserOut.model_validate(user) for user in found]
    if as_json:
        for user in shown:
            typer.echo(json.dumps(user.model_dump(mode="json")))
        return
    if not shown:
        typer.echo("no user matches")
        return
    table = Table("email", "name", "role", "partner", "created", "disabled")
    table.columns.insert(0, Column("id", no_wrap=True, min_width=len(shown[0].id)))
    for user in shown:
        table.add_row(
            user.id,
            user.email,
            user.display_name,
            user.role.value,
            user.partner_id or "",
            _when(user.created_at),
            _when(user.disabled_at),
        )
    console().print(table)
    if more:
        typer.echo(f"more users match: raise --limit (now {limit}) or narrow the filters")


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Option(help="Sign-in email address.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    partner_id: Annotated[
        str | None, typer.Option(help="The firm of a partner_admin or partner_member.")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (for scripts); "
            "without it, the password is asked for.",
        ),
    ] = False,
    password_argument: Annotated[
        str | None, typer.Option("--password", hidden=True, help="No longer accepted.")
    ] = None,
) -> None:
    """Create a user who can sign in (the first user, an admin, needs no --as)."""
    password = _password(password_stdin, password_argument)
    with transaction() as db:
        user = accounts.create_user(
            db,
            _user_creator(db, role),
            email=email,
            display_name=name,
            role=role,
            password=password,
            partner_id=partner_id,
        )
        typer.echo(f"created user {user.id} <{user.email}> ({user.role})")


@api_keys_app.command("create")
def create_api_key(
    user: Annotated[str, typer.Option(help="The key's user, by email or id.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="A permission the key is limited to (repeat for several); default: the "
            "user's role. One of: " + ", ".join(p.value for p in Permission) + ".",
        ),
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="Days until the key stops working.")
    ] = None,
) -> None:
    """Create an API key; its token is printed once and never again."""
    expires_at = (
        clock.now() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    )
    with transaction() as db:
        owner = _resolve_user(db, user)
        key, token = accounts.create_api_key(
            db, operator(db), user_id=owner.id, name=name, scopes=scope, expires_at=expires_at
        )
    typer.echo(f"created API key {key.id} for {owner.email}")
    typer.echo(token)
    error_console().print("store the token now: it cannot be shown again", markup=False)


@api_keys_app.command("list")
def list_api_keys(
    user: Annotated[str | None, typer.Option(help="Only this user's keys (email or id).")] = None,
) -> None:
    """List API keys (never their secrets)."""
    with transaction() as db:
        user_id = _resolve_user(db, user).id if user else None
        keys = accounts.list_api_keys(db, ACTOR, user_id=user_id)
        owners = select(User.id, User.email).where(User.id.in_({key.user_id for key in keys}))
        emails: dict[str, str] = dict(db.execute(owners).all())
    if not keys:
        typer.echo("no API keys")
        return
    table = Table("user", "name", "status", "scopes", "created", "expires", "last used")
    # Ids are what people copy into the next command: never shorten them.
    table.columns.insert(0, Column("id", no_wrap=True, min_width=len(keys[0].id)))
    now = clock.now()
    for key in keys:
        table.add_row(
            key.id,
            emails.get(key.user_id, key.user_id),
            key.name,
            _status(key, now),
            ", ".join(key.scopes) if len(key.scopes) <= 3 else f"{len(key.scopes)} scopes",
            _when(key.created_at),
            _when(key.expires_at),
            _when(key.last_used_at),
        )
    console().print(table)


def _status(key: ApiKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


@api_keys_app.command("revoke")
def revoke_api_key(key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")]) -> None:
    """Revoke an API key at once."""
    with transaction() as db:
        key = accounts.revoke_api_key(db, operator(db), key_id=key_id)
    typer.echo(f"revoked API key {key.id}")
