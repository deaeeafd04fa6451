"""``charter licenses``: issue a license under a signed agreement, show one, suspend, revoke;
list a license's activations and free a seat."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from charter.cli.common import ACTOR, checked, console, operator, transaction
from charter.core.csvimport import describe
from charter.core.errors import FieldError, Invalid
from charter.licensing.schemas import LicenseOut, LicenseReason

licenses_app = typer.Typer(help="Licenses granted to partner firms.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
LicenseArg = Annotated[str, typer.Argument(help="The license (lic_…), or its key.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; recorded with the change.")]


def _print(license: LicenseOut, as_json: bool, key: str | None = None) -> None:
    if as_json:
        data = license.model_dump(mode="json") | ({"key": key} if key else {})
        typer.echo(json.dumps(data, indent=2))
        return
    out = console()
    out.print(f"{license.id}  {license.status.value}  {license.key_prefix}-…", markup=False)
    if key:
        out.print(f"  key: {key}  (shown once: keep it now)", markup=False)
    out.print(f"  partner: {license.partner_id}  agreement: {license.agreement_id}", markup=False)
    out.print(f"  product: {license.product_id}  seats: {license.seats}", markup=False)
    out.print(f"  entitlements: {', '.join(license.entitlements) or 'none'}", markup=False)
    places = [*license.regions, *license.countries]
    out.print(f"  territory: {', '.join(places) or 'none'}", markup=False)
    until = f"{license.valid_from:%Y-%m-%d} to {license.valid_until:%Y-%m-%d}"
    out.print(f"  valid: {until}", markup=False)
    if license.status_reason:
        out.print(f"  reason: {license.status_reason}", markup=False)


def _reason(reason: str) -> str:
    if not reason.strip():
        raise Invalid.field("reason", "say why")
    return reason


@licenses_app.command("issue")
def issue(
    agreement_id: Annotated[str, typer.Option("--agreement", help="The signed agreement (agr_…).")],
    seats: Annotated[int, typer.Option("--seats", help="How many seats.")],
    region: Annotated[
        list[str] | None, typer.Option("--region", help="A region (default: the territory's).")
    ] = None,
    country: Annotated[
        list[str] | None, typer.Option("--country", help="A country (default: the territory's).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Issue a license under a firm's signed agreement; prints its key, shown this once."""
    from charter.licensing import service
    from charter.licensing.schemas import LicenseCreate

    given = {"agreement_id": agreement_id, "seats": seats, "regions": region, "countries": country}
    try:
        data = LicenseCreate.model_validate(given)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first.get("loc", ()))
        raise Invalid(describe(error), [FieldError(field, str(first.get("msg", "")))]) from None
    with transaction() as db:
        license, key = service.issue_license(db, operator(db), data=data)
        shown = LicenseOut.model_validate(license)
    _print(shown, as_json, key=key)


@licenses_app.command("show")
def show(license: LicenseArg, as_json: JsonFlag = False) -> None:
    """A license, found by its id or by its key (typed as people do: case and hyphens free)."""
    from charter.licensing import service

    with transaction() as db:
        if license.startswith("lic_"):
            found = service.get_license(db, ACTOR, license_id=license)
        else:
            found = service.find_license_by_key(db, ACTOR, key=license)
        shown = LicenseOut.model_validate(found)
        shown.status = service.status_of(found)
    _print(shown, as_json)


def _change(action: str, license_id: str, reason: str, as_json: bool) -> None:
    from charter.licensing import service

    changes = {"suspend": service.suspend_license, "revoke": service.revoke_license}
    with transaction() as db:
        changed = changes[action](db, operator(db), license_id=license_id, reason=_reason(reason))
        shown = LicenseOut.model_validate(changed)
    _print(shown, as_json)


@licenses_app.command("suspend")
def suspend(
    license_id: Annotated[str, typer.Argument(help="The license (lic_…).")],
    reason: ReasonOption,
    as_json: JsonFlag = False,
) -> None:
    """Suspend an active license."""
    _change("suspend", license_id, reason, as_json)


@licenses_app.command("revoke")
def revoke(
    license_id: Annotated[str, typer.Argument(help="The license (lic_…).")],
    reason: ReasonOption,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a license for good."""
    _change("revoke", license_id, reason, as_json)


@licenses_app.command("token")
def token(
    license_id: Annotated[str, typer.Argument(help="The license (lic_…).")],
    as_json: JsonFlag = False,
) -> None:
    """A fresh offline token of an active license (a license+jwt JWT; verify it with the
    JWKS at /.well-known/jwks.json).

    A read, like ``show``: it needs no operator (``--as``). The token restates, signed, what
    ``show`` prints; whoever runs this on the server already holds the database and its keys.
    """
    from charter.licensing import license_tokens

    with transaction() as db:
        issued = license_tokens.issue_license_token(db, ACTOR, license_id=license_id)
    if as_json:
        data = {
            "license_id": issued.license_id,
            "token": issued.token,
            "token_type": license_tokens.TYP,
            "audience": issued.audience,
            "expires_at": issued.expires_at.isoformat(),
        }
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(issued.token)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _when(moment: Any) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _print_activation(activation: dict[str, Any]) -> None:
    out = console()
    out.print(
        f"{activation['id']}  {activation['state']}  {activation['kind']}"
        f"  {activation['fingerprint']}",
        markup=False,
    )
    place = activation["region"] + (f" ({activation['country']})" if activation["country"] else "")
    out.print(f"  license: {activation['license_id']}  where: {place}", markup=False)
    out.print(f"  customer: {activation['customer_name']}", markup=False)
    out.print(f"  ended: {_when(activation['deactivated_at'])}", markup=False)
    if activation["ended_reason"]:
        out.print(f"  reason: {activation['ended_reason']}", markup=False)


@licenses_app.command("activations")
def list_activations(
    license_id: Annotated[str, typer.Argument(help="The license (lic_…).")],
    state: Annotated[
        str | None,
        typer.Option("--state", help="Only these: active, deactivated or reaped."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A license's activations (its deployments), oldest first, with their heartbeats."""
    from charter.core.pagination import MAX_LIMIT
    from charter.licensing import activations
    from charter.licensing.enums import ActivationState

    wanted = None
    if state is not None:
        try:
            wanted = ActivationState(state.strip().lower())
        except ValueError:
            names = ", ".join(item.value for item in ActivationState)
            raise Invalid.field("state", f"one of {names}") from None
    rows: list[dict[str, Any]] = []
    with transaction() as db:
        cursor = None
        while True:
            page = activations.list_activations(
                db, ACTOR, license_id=license_id, state=wanted, cursor=cursor, limit=MAX_LIMIT
            )
            rows.extend(activations.describe(db, item) for item in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    if as_json:
        typer.echo(json.dumps({"items": rows}, indent=2, default=_iso))
        return
    if not rows:
        console().print(f"license {license_id} has no activations", markup=False)
        return
    table = Table(title=f"Activations of {license_id}")
    # Ids are what a reader copies into the next command: never wrapped.
    table.add_column("activation", no_wrap=True)
    for column in (
        "state",
        "kind",
        "fingerprint",
        "where",
        "customer",
        "activated",
        "last heartbeat",
        "ended",
    ):
        table.add_column(column)
    for row in rows:
        place = row["region"] + (f" ({row['country']})" if row["country"] else "")
        table.add_row(
            row["id"],
            row["state"],
            row["kind"],
            row["fingerprint"],
            place,
            row["customer_name"],
            _when(row["activated_at"]),
            _when(row["last_heartbeat_at"]),
            _when(row["deactivated_at"]),
        )
    console().print(table)


@licenses_app.command("deactivate")
def deactivate(
    activation_id: Annotated[str, typer.Argument(help="The activation (act_…).")],
    reason: ReasonOption,
    as_json: JsonFlag = False,
) -> None:
    """Free the seat an activation holds (license managers); the deployment must activate
    again to use the license."""
    from charter.licensing import activations

    why = checked(LicenseReason, {"reason": reason}).reason
    with transaction() as db:
        ended = activations.deactivate_by_staff(
            db, operator(db), activation_id=activation_id, reason=why
        )
        shown = activations.describe(db, ended)
    if as_json:
        typer.echo(json.dumps(shown, indent=2, default=_iso))
        return
    _print_activation(shown)
