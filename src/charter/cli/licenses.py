"""``charter licenses``: issue a license under a signed agreement, show one, suspend, revoke."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from charter.cli.common import ACTOR, console, operator, transaction
from charter.core.csvimport import describe
from charter.core.errors import FieldError, Invalid
from charter.licensing.schemas import LicenseOut

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
    places = [region.value for region in license.regions] + license.countries
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
