"""API shapes of the program's taxonomy, and the field type of a value taken from it."""

from __future__ import annotations

from typing import Annotated, Any

import pycountry
from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from charter.core.schemas import ORMModel
from charter.core.text import Name, Note
from charter.partners.colours import COLOUR_RULE, colour_value
from charter.partners.enums import TaxonomyKind

CODE_PATTERN = r"^[a-z][a-z0-9_-]{0,15}$"
CODE_RULE = "a lowercase slug of at most 16 characters (letters, digits, - and _)"


def _code(kind: str, example: str) -> Any:
    return Field(
        pattern=CODE_PATTERN,
        description=f"A {kind} code from the program's taxonomy (GET /api/v1/program/taxonomy).",
        examples=[example],
    )


TrackCode = Annotated[str, StringConstraints(strip_whitespace=True), _code("track", "technical")]
"""A track: a code from the program's taxonomy (checked against it by the services)."""
RegionCode = Annotated[str, StringConstraints(strip_whitespace=True), _code("region", "emea")]
"""A region: a code from the program's taxonomy (checked against it by the services)."""
PartnerTypeCode = Annotated[
    str, StringConstraints(strip_whitespace=True), _code("partner type", "implementation")
]
"""A partner type: a code from the program's taxonomy (checked against it by the services)."""


def _filter(kind: str, example: str) -> Any:
    return Query(
        pattern=CODE_PATTERN,
        description=f"Only those of this {kind}: a code from the program's taxonomy.",
        examples=[example],
    )


TrackFilter = Annotated[str | None, _filter("track", "technical")]
RegionFilter = Annotated[str | None, _filter("region", "emea")]
PartnerTypeFilter = Annotated[str | None, _filter("partner type", "implementation")]


def _countries(values: list[str]) -> list[str]:
    codes: list[str] = []
    for value in values:
        code = value.strip().upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (such as DE)")
        codes.append(code)
    return sorted(set(codes))


Countries = Annotated[list[str], Field(max_length=300), AfterValidator(_countries)]
Colour = Annotated[str, Field(max_length=20, examples=["#1f6feb"]), AfterValidator(colour_value)]
"""A track's badge colour: ``#rrggbb``, stored lowercase."""


KIND = "The list: track, region or partner_type"
LABEL = "The name pages, filters and reports show"
DESCRIPTION = "What it means, in words"
COUNTRIES = "A region's ISO 3166-1 alpha-2 countries (each in one region at most)"
RETIRED = "Retired: no longer offered for new data; what names it stays valid"
COLOUR = f"A track's badge colour, {COLOUR_RULE}; null: one picked from a palette by the code"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaxonomyEntryCreate(_Input):
    """A new entry at the end of its list; ``countries`` only for a region."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "region",
                    "code": "dach",
                    "label": "DACH",
                    "description": "Germany, Austria, Switzerland",
                    "countries": ["DE", "AT", "CH"],
                }
            ]
        },
    )

    kind: TaxonomyKind = Field(description=KIND)
    code: Annotated[str, StringConstraints(strip_whitespace=True)] = Field(
        pattern=CODE_PATTERN, description=f"The code data will store: {CODE_RULE}"
    )
    label: Name = Field(max_length=100, description=LABEL)
    description: Note | None = Field(default=None, description=DESCRIPTION)
    countries: Countries | None = Field(default=None, description=COUNTRIES)
    colour: Colour | None = Field(default=None, description=COLOUR)


class TaxonomyEntryUpdate(_Input):
    """Changes to an entry; its code never changes (data stores it)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"label": "Europe", "countries": ["DE", "FR"]}]},
    )

    label: Name | None = Field(default=None, max_length=100, description=LABEL)
    description: Note | None = Field(default=None, description=DESCRIPTION)
    countries: Countries | None = Field(default=None, description=COUNTRIES)
    colour: Colour | None = Field(default=None, description=f"{COLOUR} (null clears it)")
    retired: bool | None = Field(default=None, description=RETIRED)


class TaxonomyOrder(_Input):
    """Every code of one kind, in the order to show them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"codes": ["emea", "na", "apac", "latam"]}]},
    )

    codes: list[Annotated[str, Field(pattern=CODE_PATTERN)]] = Field(
        min_length=1, max_length=500, description="Every code of the kind, once each, in order"
    )


class TaxonomyEntryOut(ORMModel):
    """One entry as the API shows it (``countries``: for a region, the countries it groups)."""

    kind: TaxonomyKind = Field(description=KIND)
    code: str = Field(description="The code data stores")
    label: str = Field(description=LABEL)
    description: str | None = Field(description=DESCRIPTION)
    position: int = Field(description="Its place in its list, from 1")
    retired: bool = Field(description=RETIRED)
    colour: str | None = Field(default=None, description=COLOUR)
    countries: list[str] = Field(default_factory=list, description=COUNTRIES)


class TaxonomyOut(BaseModel):
    """The program's lists, each in its order, retired entries included (marked)."""

    tracks: list[TaxonomyEntryOut] = Field(description="People's and certifications' tracks")
    regions: list[TaxonomyEntryOut] = Field(description="Sales regions, with their countries")
    partner_types: list[TaxonomyEntryOut] = Field(description="Kinds of partner firm")
