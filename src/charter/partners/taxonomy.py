"""The program's taxonomy: its own ordered lists of tracks, regions and partner types.

Firms, people, certifications and licenses store codes from these lists; the services that
write them check each code here (:func:`require_codes`), reading the lists in the caller's
transaction, so a change is seen by the very next request. An entry is never deleted, since
stored data may name it: a retired entry is no longer offered for new data, while what
already names it stays valid and is shown with its label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.orm import Session

from charter.core import events, eventstore
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid, NotFound
from charter.db.unique import guard_unique, insert_unique
from charter.partners import colours, taxonomy_defaults
from charter.partners.enums import TaxonomyKind
from charter.partners.models import RegionCountry, TaxonomyEntry
from charter.partners.taxonomy_schemas import (
    CODE_PATTERN,
    TaxonomyEntryCreate,
    TaxonomyEntryUpdate,
    TaxonomyOrder,
)

_CODE = re.compile(CODE_PATTERN)
ONLY_TRACKS_COLOURED = "only a track has a badge colour"


@dataclass(frozen=True, slots=True)
class Choice:
    """One entry as forms, filters and pages show it."""

    code: str
    label: str
    retired: bool = False
    colour: str | None = None


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The program's lists as read in one transaction (what pages and reports label with)."""

    entries: Mapping[TaxonomyKind, tuple[Choice, ...]]

    def choices(self, kind: TaxonomyKind, *, keep: Iterable[str] = ()) -> list[Choice]:
        """The entries offered for new data, in order, plus retired ones in ``keep`` (the
        values a record already holds, so a form can show them selected)."""
        kept = set(keep)
        return [c for c in self.entries.get(kind, ()) if not c.retired or c.code in kept]

    def all(self, kind: TaxonomyKind) -> list[Choice]:
        """Every entry of ``kind``, retired ones too (filters over existing data)."""
        return list(self.entries.get(kind, ()))

    def labels(self, kind: TaxonomyKind) -> dict[str, str]:
        """Code to label for every entry of ``kind``."""
        return {choice.code: choice.label for choice in self.entries.get(kind, ())}

    def refusal(
        self, kind: TaxonomyKind, values: Iterable[str], *, held: Iterable[str] = ()
    ) -> str | None:
        """Why ``values`` cannot be stored as ``kind`` (unknown, or retired and not in
        ``held``); ``None`` when they can."""
        entries = {choice.code: choice for choice in self.entries.get(kind, ())}
        kept = set(held)
        for value in sorted(set(values)):
            choice = entries.get(value)
            if choice is None:
                offered = [c.code for c in self.entries.get(kind, ()) if not c.retired]
                return _unknown(kind, value, offered)
            if choice.retired and value not in kept:
                return _retired(value)
        return None


def _unknown(kind: TaxonomyKind, value: str, offered: Iterable[str]) -> str:
    listed = ", ".join(offered) or "none defined"
    return f"{value!r} is not a {kind.value.replace('_', ' ')} of this program (one of: {listed})"


def _retired(value: str) -> str:
    return f"{value!r} is retired: it is no longer offered for new data"


def read(db: Session) -> Taxonomy:
    """The program's lists, each in order (one query), for labels, choices and checks."""
    rows = db.scalars(
        select(TaxonomyEntry).order_by(
            TaxonomyEntry.kind, TaxonomyEntry.position, TaxonomyEntry.code
        )
    ).all()
    entries: dict[TaxonomyKind, list[Choice]] = {kind: [] for kind in TaxonomyKind}
    for row in rows:
        if row.kind in entries:
            entries[TaxonomyKind(row.kind)].append(
                Choice(row.code, row.label, row.retired, row.colour)
            )
    return Taxonomy({kind: tuple(choices) for kind, choices in entries.items()})


def _is_code(value: str) -> bool:
    """Whether ``value`` could be a code at all (never sent to the database otherwise: a NUL
    byte, say, is an error there, not a miss)."""
    return _CODE.fullmatch(value) is not None


def require_codes(
    db: Session,
    kind: TaxonomyKind,
    field_name: str,
    values: Iterable[str],
    *,
    held: Iterable[str] = (),
) -> None:
    """Refuse (naming ``field_name``) any value that is not an entry of ``kind`` offered for
    new data; retired codes in ``held`` (what the record already has) stay acceptable."""
    wanted = set(values)
    if not wanted:
        return
    rows = db.execute(
        select(TaxonomyEntry.code, TaxonomyEntry.retired).where(
            TaxonomyEntry.kind == kind.value,
            TaxonomyEntry.code.in_([value for value in wanted if _is_code(value)]),
        )
    ).all()
    known: dict[str, bool] = {code: retired for code, retired in rows}  # noqa: C416
    kept = set(held)
    for value in sorted(wanted):
        if value not in known:
            offered = db.scalars(
                select(TaxonomyEntry.code)
                .where(TaxonomyEntry.kind == kind.value, TaxonomyEntry.retired.is_(False))
                .order_by(TaxonomyEntry.position, TaxonomyEntry.code)
            ).all()
            raise Invalid.field(field_name, _unknown(kind, value, offered))
        if known[value] and value not in kept:
            raise Invalid.field(field_name, _retired(value))


def require_known(db: Session, kind: TaxonomyKind, field_name: str, value: str | None) -> None:
    """Refuse (naming ``field_name``) a filter by a code ``kind`` has never had; retired
    entries still filter the data that names them."""
    if value is None:
        return
    found = (
        db.scalar(
            select(TaxonomyEntry.code).where(
                TaxonomyEntry.kind == kind.value, TaxonomyEntry.code == value
            )
        )
        if _is_code(value)
        else None
    )
    if found is None:
        codes = db.scalars(
            select(TaxonomyEntry.code)
            .where(TaxonomyEntry.kind == kind.value)
            .order_by(TaxonomyEntry.position, TaxonomyEntry.code)
        ).all()
        raise Invalid.field(field_name, _unknown(kind, value, codes))


def track_colour(db: Session, code: str) -> str:
    """The colour badges of track ``code`` are drawn in (one query): the colour the program
    set for it, else the palette's for its code (an unknown track's too)."""
    found = (
        db.scalar(
            select(TaxonomyEntry.colour).where(
                TaxonomyEntry.kind == TaxonomyKind.TRACK.value, TaxonomyEntry.code == code
            )
        )
        if _is_code(code)
        else None
    )
    return colours.badge_colour(code, found)


def entry_out(db: Session, entry: TaxonomyEntry) -> dict[str, object]:
    """The API shape's fields of ``entry`` (a region's countries included)."""
    countries: list[str] = []
    if entry.kind == TaxonomyKind.REGION.value:
        countries = list(
            db.scalars(
                select(RegionCountry.country)
                .where(RegionCountry.region == entry.code)
                .order_by(RegionCountry.country)
            )
        )
    return {
        "kind": entry.kind,
        "code": entry.code,
        "label": entry.label,
        "description": entry.description,
        "position": entry.position,
        "retired": entry.retired,
        "colour": entry.colour,
        "countries": countries,
    }


def list_entries(db: Session, actor: Principal) -> dict[str, list[dict[str, object]]]:
    """Every entry of every kind, in order (anyone signed in may read the program's lists)."""
    actor.require(Permission.PARTNERS_READ)
    rows = db.scalars(
        select(TaxonomyEntry).order_by(TaxonomyEntry.position, TaxonomyEntry.code)
    ).all()
    countries: dict[str, list[str]] = {}
    for country in db.scalars(select(RegionCountry).order_by(RegionCountry.country)):
        countries.setdefault(country.region, []).append(country.country)
    out: dict[str, list[dict[str, object]]] = {"tracks": [], "regions": [], "partner_types": []}
    names = {
        TaxonomyKind.TRACK.value: "tracks",
        TaxonomyKind.REGION.value: "regions",
        TaxonomyKind.PARTNER_TYPE.value: "partner_types",
    }
    for row in rows:
        if row.kind not in names:
            continue
        out[names[row.kind]].append(
            {
                "kind": row.kind,
                "code": row.code,
                "label": row.label,
                "description": row.description,
                "position": row.position,
                "retired": row.retired,
                "colour": row.colour,
                "countries": countries.get(row.code, [])
                if row.kind == TaxonomyKind.REGION.value
                else [],
            }
        )
    return out


def _get(db: Session, kind: TaxonomyKind, code: str, *, lock: bool = False) -> TaxonomyEntry:
    query = select(TaxonomyEntry).where(
        TaxonomyEntry.kind == TaxonomyKind(kind).value, TaxonomyEntry.code == code
    )
    if lock:
        query = query.with_for_update()
    entry = db.scalar(query) if _is_code(code) else None
    if entry is None:
        raise NotFound(f"no {TaxonomyKind(kind).value.replace('_', ' ')} {code[:16]!r}")
    return entry


def _set_countries(db: Session, region: str, countries: list[str]) -> None:
    """Make ``region`` group exactly ``countries``, refusing any another region groups."""
    if countries:
        taken = db.execute(
            select(RegionCountry.country, RegionCountry.region).where(
                RegionCountry.country.in_(countries), RegionCountry.region != region
            )
        ).all()
        if taken:
            listed = ", ".join(f"{country} ({other})" for country, other in sorted(taken))
            raise Invalid.field("countries", f"already grouped by another region: {listed}")
    db.execute(delete(RegionCountry).where(RegionCountry.region == region))
    if countries:
        rows = [{"country": country, "region": region} for country in countries]
        # The check above decides; the key still decides a race with another region's change.
        with guard_unique("a country is grouped by one region at most"), db.begin_nested():
            db.execute(insert(RegionCountry), rows)


def _record(
    db: Session, actor: Principal, type: str, entry: TaxonomyEntry, payload: dict[str, object]
) -> None:
    # A draft rather than append(): an entry's id is its kind and code, read-only.
    events.append_many(db, actor, [events.Draft(type, "taxonomy_entry", entry.id, payload)])


def add_entry(db: Session, actor: Principal, *, data: TaxonomyEntryCreate) -> TaxonomyEntry:
    """Add an entry at the end of its list (a region with the countries it groups)."""
    actor.require(Permission.TAXONOMY_MANAGE)
    kind = TaxonomyKind(data.kind)
    if data.countries and kind is not TaxonomyKind.REGION:
        raise Invalid.field("countries", "only a region groups countries")
    if data.colour is not None and kind is not TaxonomyKind.TRACK:
        raise Invalid.field("colour", ONLY_TRACKS_COLOURED)
    eventstore.lock_head(db)  # one writer at a time: positions and codes stay unique
    conflict = f"the {kind.value.replace('_', ' ')} {data.code!r} exists already"
    exists = db.scalar(
        select(TaxonomyEntry.code).where(
            TaxonomyEntry.kind == kind.value, TaxonomyEntry.code == data.code
        )
    )
    if exists is not None:
        raise Conflict(conflict)
    last = db.scalar(
        select(func.max(TaxonomyEntry.position)).where(TaxonomyEntry.kind == kind.value)
    )
    entry = TaxonomyEntry(
        kind=kind.value,
        code=data.code,
        label=data.label,
        description=data.description or None,
        position=(last or 0) + 1,
        retired=False,
        colour=data.colour,
    )
    insert_unique(db, entry, conflict)
    if kind is TaxonomyKind.REGION:
        _set_countries(db, entry.code, data.countries or [])
    _record(
        db,
        actor,
        "taxonomy_entry.added",
        entry,
        {
            "kind": entry.kind,
            "code": entry.code,
            "label": entry.label,
            "colour": entry.colour,
            "countries": data.countries or [],
        },
    )
    return entry


def update_entry(
    db: Session, actor: Principal, *, kind: TaxonomyKind, code: str, data: TaxonomyEntryUpdate
) -> TaxonomyEntry:
    """Change an entry's label, description, countries, a track's colour (``None`` given:
    back to the palette's), or retire or restore it."""
    actor.require(Permission.TAXONOMY_MANAGE)
    kind = TaxonomyKind(kind)
    if data.countries is not None and kind is not TaxonomyKind.REGION:
        raise Invalid.field("countries", "only a region groups countries")
    if data.colour is not None and kind is not TaxonomyKind.TRACK:
        raise Invalid.field("colour", ONLY_TRACKS_COLOURED)
    eventstore.lock_head(db)
    entry = _get(db, kind, code, lock=True)
    changes: dict[str, dict[str, object]] = {}
    given = data.model_fields_set
    if "label" in given:
        if data.label is None:
            raise Invalid.field("label", "cannot be cleared")
        if data.label != entry.label:
            changes["label"] = {"from": entry.label, "to": data.label}
            entry.label = data.label
    if "description" in given and (data.description or None) != entry.description:
        changes["description"] = {"from": entry.description, "to": data.description or None}
        entry.description = data.description or None
    if "colour" in given and data.colour != entry.colour:
        changes["colour"] = {"from": entry.colour, "to": data.colour}
        entry.colour = data.colour
    if "retired" in given and data.retired is not None and data.retired != entry.retired:
        changes["retired"] = {"from": entry.retired, "to": data.retired}
        entry.retired = data.retired
    if data.countries is not None:
        before = sorted(
            db.scalars(select(RegionCountry.country).where(RegionCountry.region == entry.code))
        )
        if before != data.countries:
            _set_countries(db, entry.code, data.countries)
            changes["countries"] = {"from": before, "to": data.countries}
    if not changes:
        return entry
    db.flush()
    _record(db, actor, "taxonomy_entry.updated", entry, {"changes": changes})
    return entry


def retire_entry(db: Session, actor: Principal, *, kind: TaxonomyKind, code: str) -> TaxonomyEntry:
    """Stop offering an entry for new data; what already names it stays valid."""
    return update_entry(db, actor, kind=kind, code=code, data=TaxonomyEntryUpdate(retired=True))


def reorder_entries(
    db: Session, actor: Principal, *, kind: TaxonomyKind, data: TaxonomyOrder
) -> list[TaxonomyEntry]:
    """Put every entry of ``kind`` in the order given (each code exactly once)."""
    actor.require(Permission.TAXONOMY_MANAGE)
    kind = TaxonomyKind(kind)
    eventstore.lock_head(db)
    entries = {
        entry.code: entry
        for entry in db.scalars(
            select(TaxonomyEntry).where(TaxonomyEntry.kind == kind.value).with_for_update()
        )
    }
    if len(set(data.codes)) != len(data.codes) or set(data.codes) != set(entries):
        raise Invalid.field(
            "codes", f"list every code of this kind once: {', '.join(sorted(entries))}"
        )
    for position, code in enumerate(data.codes, start=1):
        entries[code].position = position
    db.flush()
    events.append_many(
        db,
        actor,
        [
            events.Draft(
                "taxonomy.reordered",
                "taxonomy",
                kind.value,
                {"kind": kind.value, "codes": list(data.codes)},
            )
        ],
    )
    return [entries[code] for code in data.codes]


def seed_defaults(connection: Connection | Session) -> None:
    """Insert the default lists and region countries (an empty program: migration, tests)."""
    rows: list[dict[str, object]] = []
    for kind, defaults in (
        (TaxonomyKind.TRACK, taxonomy_defaults.TRACKS),
        (TaxonomyKind.REGION, taxonomy_defaults.REGIONS),
        (TaxonomyKind.PARTNER_TYPE, taxonomy_defaults.PARTNER_TYPES),
    ):
        for position, entry in enumerate(defaults, start=1):
            rows.append(
                {
                    "kind": kind.value,
                    "code": entry.code,
                    "label": entry.label,
                    "description": entry.description,
                    "position": position,
                    "retired": False,
                    "colour": entry.colour,
                }
            )
    connection.execute(insert(TaxonomyEntry), rows)
    connection.execute(
        insert(RegionCountry),
        [
            {"country": country, "region": region}
            for region, countries in taxonomy_defaults.REGION_COUNTRIES.items()
            for country in countries
        ],
    )
