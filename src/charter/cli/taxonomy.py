"""``charter taxonomy``: the program's own tracks, regions and partner types."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from charter.cli.common import ACTOR, checked, console, operator, transaction
from charter.core.errors import Invalid
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.partners.taxonomy_schemas import (
    TaxonomyEntryCreate,
    TaxonomyEntryOut,
    TaxonomyEntryUpdate,
    TaxonomyOrder,
)

taxonomy_app = typer.Typer(
    help="The program's tracks, regions and partner types.", no_args_is_help=True
)

KindArg = Annotated[
    TaxonomyKind, typer.Argument(help="track, region or partner_type", case_sensitive=False)
]
CodeArg = Annotated[str, typer.Argument(help="The entry's code (a lowercase slug).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Countries = Annotated[
    str | None,
    typer.Option(help="A region's countries: ISO 3166-1 alpha-2 codes, comma-separated."),
]

Colour = Annotated[
    str | None,
    typer.Option(help="A track's badge colour, #rrggbb (otherwise one picked by its code)."),
]


def _countries(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _print(entry: dict[str, Any], as_json: bool) -> None:
    shown = TaxonomyEntryOut.model_validate(entry)
    if as_json:
        typer.echo(shown.model_dump_json(indent=2))
        return
    retired = "  (retired)" if shown.retired else ""
    console().print(f"{shown.kind} {shown.code}: {shown.label}{retired}", markup=False)
    if shown.colour:
        console().print(f"  colour: {shown.colour}", markup=False)
    if shown.countries:
        console().print(f"  countries: {', '.join(shown.countries)}", markup=False)


@taxonomy_app.command("list")
def list_entries(
    kind: Annotated[
        TaxonomyKind | None,
        typer.Option(help="Only this kind: track, region or partner_type.", case_sensitive=False),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every entry, each kind in its order; retired ones are marked."""
    with transaction() as db:
        found = taxonomy.list_entries(db, ACTOR)
    rows = [
        TaxonomyEntryOut.model_validate(entry)
        for entries in found.values()
        for entry in entries
        if kind is None or entry["kind"] == kind.value
    ]
    if as_json:
        typer.echo(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return
    table = Table("kind", "code", "label", "retired", "colour", "countries")
    for row in rows:
        table.add_row(
            row.kind.value,
            row.code,
            row.label,
            "yes" if row.retired else "",
            row.colour or "",
            ", ".join(row.countries),
        )
    console().print(table)


@taxonomy_app.command("add")
def add_entry(
    kind: KindArg,
    code: CodeArg,
    label: Annotated[str, typer.Option(help="The name people read.")],
    description: Annotated[str | None, typer.Option(help="What it means.")] = None,
    countries: Countries = None,
    colour: Colour = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an entry at the end of its list."""
    data = checked(
        TaxonomyEntryCreate,
        {
            "kind": kind.value,
            "code": code,
            "label": label,
            "description": description,
            "countries": _countries(countries),
            "colour": colour,
        },
    )
    with transaction() as db:
        entry = taxonomy.add_entry(db, operator(db), data=data)
        shown = taxonomy.entry_out(db, entry)
    _print(shown, as_json)


@taxonomy_app.command("update")
def update_entry(
    kind: KindArg,
    code: CodeArg,
    label: Annotated[str | None, typer.Option(help="A new label.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    countries: Countries = None,
    colour: Colour = None,
    clear_colour: Annotated[
        bool, typer.Option(help="Forget a track's colour: one is picked by its code.")
    ] = False,
    restore: Annotated[bool, typer.Option(help="Offer a retired entry again.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Change an entry's label, description, countries or colour (its code never changes)."""
    given: dict[str, Any] = {}
    if label is not None:
        given["label"] = label
    if description is not None:
        given["description"] = description
    if countries is not None:
        given["countries"] = _countries(countries)
    if colour is not None and clear_colour:
        raise Invalid.field("colour", "give --colour or --clear-colour, not both")
    if colour is not None or clear_colour:
        given["colour"] = colour
    if restore:
        given["retired"] = False
    data = checked(TaxonomyEntryUpdate, given)
    with transaction() as db:
        entry = taxonomy.update_entry(db, operator(db), kind=kind, code=code, data=data)
        shown = taxonomy.entry_out(db, entry)
    _print(shown, as_json)


@taxonomy_app.command("retire")
def retire_entry(kind: KindArg, code: CodeArg, as_json: JsonFlag = False) -> None:
    """Stop offering an entry for new data; what already names it stays valid."""
    with transaction() as db:
        entry = taxonomy.retire_entry(db, operator(db), kind=kind, code=code)
        shown = taxonomy.entry_out(db, entry)
    _print(shown, as_json)


@taxonomy_app.command("reorder")
def reorder_entries(
    kind: KindArg,
    codes: Annotated[list[str], typer.Argument(help="Every code of the kind, in order.")],
) -> None:
    """Put every entry of one kind in the order given."""
    data = checked(TaxonomyOrder, {"codes": codes})
    with transaction() as db:
        entries = taxonomy.reorder_entries(db, operator(db), kind=kind, data=data)
        order = [entry.code for entry in entries]
    console().print(f"{kind.value}: {', '.join(order)}", markup=False)
