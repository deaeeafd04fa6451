"""``charter partners``: find partner firms with the filters the API has."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Column, Table

from charter.cli.common import ACTOR, console, transaction
from charter.core.pagination import MAX_LIMIT
from charter.partners import firms
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner
from charter.partners.schemas import PartnerOut

partners_app = typer.Typer(help="Partner firms.", no_args_is_help=True)

LIST_LIMIT = 100
"""Firms listed when ``--limit`` is not given."""


def collect_partners(
    *,
    status: PartnerStatus | None,
    type: str | None,
    region: str | None,
    country: str | None,
    q: str | None,
    limit: int,
) -> tuple[list[Partner], bool]:
    """Up to ``limit`` firms matching the filters, page after page, and whether more match."""
    found: list[Partner] = []
    cursor: str | None = None
    with transaction() as db:
        while len(found) < limit:
            page = firms.list_partners(
                db,
                ACTOR,
                status=status,
                type=type,
                region=region,
                country=country,
                q=q,
                cursor=cursor,
                limit=min(MAX_LIMIT, limit - len(found)),
            )
            found.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return found, False
    return found, True


@partners_app.command("list")
def list_partners(
    status: Annotated[PartnerStatus | None, typer.Option(help="Only firms in this status.")] = None,
    type: Annotated[
        str | None, typer.Option(help="Only firms of this type (a code of the taxonomy).")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Only firms in this region (a code of the taxonomy).")
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="Only firms in this country (ISO 3166-1 alpha-2).")
    ] = None,
    q: Annotated[str | None, typer.Option("--search", "-q", help="Name contains.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, help=f"List at most this many (default {LIST_LIMIT}).")
    ] = LIST_LIMIT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON Lines.")] = False,
) -> None:
    """Partner firms matching every filter given, oldest first."""
    found, more = collect_partners(
        status=status, type=type, region=region, country=country, q=q, limit=limit
    )
    shown = [PartnerOut.model_validate(partner) for partner in found]
    if as_json:
        for partner in shown:
            typer.echo(json.dumps(partner.model_dump(mode="json")))
        return
    if not shown:
        typer.echo("no partner matches")
        return
    table = Table("name", "status", "type", "regions", "country", "external id")
    # Ids are what people copy into the next command: never shorten them.
    table.columns.insert(0, Column("id", no_wrap=True, min_width=len(shown[0].id)))
    for partner in shown:
        table.add_row(
            partner.id,
            partner.name,
            partner.status.value,
            partner.type,
            ", ".join(partner.regions),
            partner.country,
            partner.external_id or "",
        )
    console().print(table)
    if more:
        typer.echo(f"more firms match: raise --limit (now {limit}) or narrow the filters")
