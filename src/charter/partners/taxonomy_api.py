"""Routes for the program's taxonomy: its tracks, regions and partner types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from charter.deps import CurrentPrincipal, DbSession, api_router
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.partners.taxonomy_schemas import (
    TaxonomyEntryCreate,
    TaxonomyEntryOut,
    TaxonomyEntryUpdate,
    TaxonomyOrder,
    TaxonomyOut,
)

router = api_router()

Code = Annotated[str, Path(max_length=16, description="The entry's code")]
Kind = Annotated[TaxonomyKind, Path(description="The list: track, region or partner_type")]


@router.get("/program/taxonomy", response_model=TaxonomyOut, tags=["program"])
def read_taxonomy(db: DbSession, actor: CurrentPrincipal) -> TaxonomyOut:
    """The program's tracks, regions (with their countries) and partner types, each in order;
    retired entries are listed too, marked ``retired``."""
    return TaxonomyOut.model_validate(taxonomy.list_entries(db, actor))


@router.post(
    "/program/taxonomy", status_code=201, response_model=TaxonomyEntryOut, tags=["program"]
)
def add_entry(
    body: TaxonomyEntryCreate, db: DbSession, actor: CurrentPrincipal
) -> TaxonomyEntryOut:
    """Add a track, region or partner type at the end of its list (program admins)."""
    entry = taxonomy.add_entry(db, actor, data=body)
    return TaxonomyEntryOut.model_validate(taxonomy.entry_out(db, entry))


@router.patch("/program/taxonomy/{kind}/{code}", response_model=TaxonomyEntryOut, tags=["program"])
def update_entry(
    kind: Kind,
    code: Code,
    body: TaxonomyEntryUpdate,
    db: DbSession,
    actor: CurrentPrincipal,
) -> TaxonomyEntryOut:
    """Change an entry's label, description or countries; ``retired`` retires or restores it.

    An entry is never deleted, since stored data may name it: retire it instead.
    """
    entry = taxonomy.update_entry(db, actor, kind=kind, code=code, data=body)
    return TaxonomyEntryOut.model_validate(taxonomy.entry_out(db, entry))


@router.post(
    "/program/taxonomy/{kind}/{code}/retire", response_model=TaxonomyEntryOut, tags=["program"]
)
def retire_entry(
    kind: Kind, code: Code, db: DbSession, actor: CurrentPrincipal
) -> TaxonomyEntryOut:
    """Retire an entry: no longer offered for new data; what names it stays valid."""
    entry = taxonomy.retire_entry(db, actor, kind=kind, code=code)
    return TaxonomyEntryOut.model_validate(taxonomy.entry_out(db, entry))


@router.put(
    "/program/taxonomy/{kind}/order", response_model=list[TaxonomyEntryOut], tags=["program"]
)
def reorder_entries(
    kind: Kind, body: TaxonomyOrder, db: DbSession, actor: CurrentPrincipal
) -> list[TaxonomyEntryOut]:
    """Put every entry of one kind in the order given."""
    entries = taxonomy.reorder_entries(db, actor, kind=kind, data=body)
    return [TaxonomyEntryOut.model_validate(taxonomy.entry_out(db, entry)) for entry in entries]
