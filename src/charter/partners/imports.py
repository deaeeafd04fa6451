"""CSV imports of partner firms and their people (``charter import partners|people``).

Each row is checked with the same schemas the API uses (:class:`PartnerCreate`,
:class:`PersonCreate`), plus the checks that span rows or need the database (duplicates in the
file, emails already taken, unknown or terminated firms), before anything is written.

A row whose ``external_id`` is already in the database updates that firm or person where the
file says something else (a firm's name, type, regions, country, website; a person's names,
track, DID), through the same services as the API (one ``partner.updated`` or
``person.updated`` event each, naming the changes), and is reported with the fields it
changed; a row that changes nothing is skipped, so a file can be imported again safely. A
person's firm and addresses have calls of their own (join, leave, add and remove an address):
a row that changes them is refused, naming the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import AfterValidator, Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import (
    Columns,
    CsvFile,
    CsvRow,
    ImportReport,
    NoProgress,
    Progress,
    RowErrors,
    counted,
    describe,
    duplicates_within,
    external_id_of,
    insert_batches,
    lookup,
    open_import,
    optional,
    read_csv,
    record_created,
    resolve_references,
    split_list,
)
from charter.core.errors import Forbidden
from charter.core.ids import new_id
from charter.partners import firms, people, rules, taxonomy
from charter.partners.enums import PartnerStatus, TaxonomyKind
from charter.partners.models import Employment, Partner, PartnerRegion, Person, PersonEmail
from charter.partners.schemas import (
    MAX_EMAILS,
    PartnerCreate,
    PartnerUpdate,
    PersonCreate,
    PersonUpdate,
    email_address,
)

PARTNER_COLUMNS = Columns(
    required=("external_id", "name", "type", "regions", "country"), optional=("website",)
)
PEOPLE_COLUMNS = Columns(
    required=(
        "external_id",
        "partner_external_id",
        "given_name",
        "family_name",
        "track",
        "emails",
    ),
    optional=("did",),
)
# Plain ASCII addresses that the full validator accepts unchanged (once lower-cased); checking
# these with one regex is ~20x cheaper than email_validator, which matters at 100,000 rows.
# Anything else (unicode, quoted parts, "--" labels, odd lengths) goes to the full validator.
_SIMPLE_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)


def import_email(value: str) -> str:
    """The same result as :func:`charter.partners.schemas.email_address`, faster when simple."""
    lowered = value.strip().lower()
    if len(lowered) <= 254 and _SIMPLE_EMAIL.fullmatch(lowered):
        local, _, domain = lowered.partition("@")
        last = domain.rsplit(".", 1)[-1]
        if len(local) <= 64 and "--" not in domain and last not in _SPECIAL_USE:
            return lowered
    return email_address(value)


class PersonRow(PersonCreate):
    """A person as one CSV row: :class:`PersonCreate` with the faster, equivalent email check."""

    emails: Annotated[
        list[Annotated[str, Field(min_length=3, max_length=320), AfterValidator(import_email)]],
        Field(min_length=1, max_length=MAX_EMAILS),
    ]


_PARTNER: TypeAdapter[PartnerCreate] = TypeAdapter(PartnerCreate)
_PERSON: TypeAdapter[PersonRow] = TypeAdapter(PersonRow)
# Placeholder firm id while validating a row; the real id is resolved from the file's reference.
_NO_PARTNER_YET = "prt_pending"


def import_partners(
    db: Session,
    actor: Principal,
    *,
    source: Path | bytes,
    name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import partner firms from CSV; all rows are checked before any is written."""
    # Not open_import: refused partner users get the same message as the partners service gives.
    actor.require(Permission.PARTNERS_WRITE)
    if actor.partner_scope is not None:
        raise Forbidden("partner users cannot register partner firms")
    progress = progress or NoProgress()
    file = read_csv(source, PARTNER_COLUMNS, name=name)
    report = ImportReport("partners", file.name, file.sha256, file.total)
    valid, updates = _check_partners(db, file, report, progress)
    file.errors.raise_if_any(file.total)
    for partner_id, change in updates:
        firms.update_partner(db, actor, partner_id=partner_id, data=change)
    _write_partners(db, actor, valid, report, progress)
    return report


_Update = tuple[str, Any]
"""The id of a firm or person to change, and the change (a ``PartnerUpdate``/``PersonUpdate``)."""


def _existing(db: Session, model: Any, external_ids: Iterable[str], related: Any) -> dict[str, Any]:
    """Rows of ``model`` (Partner or Person) by external id, among ``external_ids``, with
    their ``related`` rows (regions, addresses) loaded in the same few queries."""
    found: dict[str, Any] = {}
    wanted = sorted(set(external_ids))
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        query = select(model).where(model.external_id.in_(chunk)).options(selectinload(related))
        for row in db.scalars(query):
            found[row.external_id] = row
    return found


_LOOKUP_CHUNK = 500


def _partner_changes(partner: Partner, data: PartnerCreate) -> dict[str, Any]:
    """What a row says differently about an existing firm, as ``PartnerUpdate`` fields."""
    wanted: dict[str, Any] = {
        "name": data.name,
        "type": data.type,
        "country": data.country,
        "website": data.website,
    }
    changes = {name: value for name, value in wanted.items() if getattr(partner, name) != value}
    if set(data.regions) != set(partner.regions):
        changes["regions"] = list(data.regions)
    return changes


def _held(partner: Partner | None, field: str) -> list[str]:
    """What an existing firm already holds (a retired code it keeps is still acceptable)."""
    if partner is None:
        return []
    return list(partner.regions) if field == "regions" else [partner.type]


def _check_partners(
    db: Session, file: CsvFile, report: ImportReport, progress: Progress
) -> tuple[list[PartnerCreate], list[_Update]]:
    """Every check of every row; returns the firms to create and the changes to existing
    ones (errors go to ``file.errors``)."""
    errors = file.errors
    rows = file.rows
    progress.phase(f"checking {len(rows):,} partners", len(rows))
    duplicates_within(rows, external_id_of, "external_id", errors)
    existing = _existing(db, Partner, (external_id_of(row) for row in rows), Partner.region_rows)
    valid: list[PartnerCreate] = []
    updates: list[_Update] = []
    lists = taxonomy.read(db)
    for row in counted(rows, progress):
        values = row.values
        try:
            data = _PARTNER.validate_python(
                {
                    "external_id": values["external_id"],
                    "name": values["name"],
                    "type": values["type"].lower(),
                    "regions": [region.lower() for region in split_list(values["regions"])],
                    "country": values["country"],
                    "website": optional(values.get("website")),
                }
            )
        except ValidationError as error:
            errors.add(row.line, describe(error))
            continue
        known = existing.get(data.external_id or "")
        refusals = (
            (
                "type",
                lists.refusal(TaxonomyKind.PARTNER_TYPE, [data.type], held=_held(known, "type")),
            ),
            (
                "regions",
                lists.refusal(TaxonomyKind.REGION, data.regions, held=_held(known, "regions")),
            ),
        )
        for column, refusal in refusals:
            if refusal is not None:
                errors.add(row.line, f"{column}: {refusal}")
        if errors.has(row.line):
            continue
        if known is None:
            valid.append(data)
            continue
        changes = _partner_changes(known, data)
        if not changes:
            report.skip(row)
        elif known.status == PartnerStatus.TERMINATED.value:
            errors.add(row.line, f"external_id: partner {data.external_id!r} is terminated")
        else:
            updates.append((known.id, PartnerUpdate.model_validate(changes)))
            report.update(row, sorted(changes))
    return valid, updates


def _write_partners(
    db: Session,
    actor: Principal,
    valid: list[PartnerCreate],
    report: ImportReport,
    progress: Progress,
) -> None:
    """Insert the firms and their regions, then one ``partner.created`` event each."""
    now = clock.now()
    partners: list[dict[str, Any]] = []
    regions: list[dict[str, Any]] = []
    drafts: list[events.Draft] = []
    onboarding = rules.empty_onboarding()
    for data in valid:
        partner_id = new_id("prt")
        region_values = list(data.regions)
        partners.append(
            {
                "id": partner_id,
                "name": data.name,
                "type": data.type,
                "status": rules.INITIAL_STATUS.value,
                "country": data.country,
                "website": data.website,
                "external_id": data.external_id,
                "status_reason": None,
                "status_changed_at": now,
                "onboarding": onboarding,
                "created_at": now,
                "updated_at": now,
            }
        )
        regions.extend({"partner_id": partner_id, "region": region} for region in region_values)
        drafts.append(
            events.Draft(
                "partner.created",
                "partner",
                partner_id,
                {
                    "name": data.name,
                    "type": data.type,
                    "status": rules.INITIAL_STATUS.value,
                    "regions": sorted(region_values),
                    "country": data.country,
                    "website": data.website,
                    "external_id": data.external_id,
                },
                partner_id=partner_id,
            )
        )
    progress.phase(f"writing {len(partners):,} partners", len(partners))
    insert_batches(db, Partner, partners, progress)
    insert_batches(db, PartnerRegion, regions)
    report.created = len(partners)
    record_created(db, actor, drafts, report, progress)


def resolve_partners(db: Session, references: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Firms named in a file by external id or by id: reference → (partner id, status)."""
    return resolve_references(
        db,
        references,
        external_id_column=Partner.external_id,
        id_column=Partner.id,
        id_prefix="prt",
        other_column=Partner.status,
    )


def resolve_people(db: Session, references: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """People named in a file by external id or by id: reference → (person id, partner id)."""
    return resolve_references(
        db,
        references,
        external_id_column=Person.external_id,
        id_column=Person.id,
        id_prefix="per",
        other_column=Person.partner_id,
    )


def import_people(
    db: Session,
    actor: Principal,
    *,
    source: Path | bytes,
    name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import people from CSV, each optionally at a firm named by its external id (or id)."""
    file, report, progress = open_import(
        actor,
        Permission.PEOPLE_WRITE,
        kind="people",
        source=source,
        columns=PEOPLE_COLUMNS,
        name=name,
        progress=progress,
    )
    valid, updates = _check_people(db, file, report, progress)
    file.errors.raise_if_any(file.total)
    for person_id, change in updates:
        people.update_person(db, actor, person_id=person_id, data=change)
    _write_people(db, actor, valid, report, progress)
    return report


def _update_person(
    row: CsvRow,
    person: Person,
    data: PersonCreate,
    partner_id: str | None,
    errors: RowErrors,
    report: ImportReport,
    updates: list[_Update],
) -> None:
    """Queue what ``row`` changes of an existing person, report it, or skip an unchanged row."""
    changes = _person_changes(person, data, partner_id, errors, row.line)
    if errors.has(row.line):
        return
    if changes:
        updates.append((person.id, PersonUpdate.model_validate(changes)))
        report.update(row, sorted(changes))
    else:
        report.skip(row)


def _person_changes(
    person: Person, data: PersonCreate, partner_id: str | None, errors: RowErrors, line: int
) -> dict[str, Any]:
    """What a row says differently about an existing person, as ``PersonUpdate`` fields; a
    change of firm or addresses is an error naming its column (they have calls of their own)."""
    if partner_id != person.partner_id:
        errors.add(
            line,
            "partner_external_id: a person changes firm by joining or leaving it "
            "(the API's join and leave), not by import",
        )
    if sorted(data.emails) != sorted(person.emails):
        errors.add(
            line,
            "emails: a person's addresses are added and removed one by one (the API), "
            "not by import",
        )
    wanted: dict[str, Any] = {
        "given_name": data.given_name,
        "family_name": data.family_name,
        "track": data.track,
        "did": data.did,
    }
    return {name: value for name, value in wanted.items() if getattr(person, name) != value}


_PersonRow = tuple[CsvRow, PersonCreate, str | None]


def _person_partner(
    row: CsvRow, partners: dict[str, tuple[str, str]], errors: RowErrors
) -> str | None:
    reference = row.values["partner_external_id"]
    if not reference:
        return None
    partner = partners.get(reference)
    if partner is None:
        errors.add(row.line, f"partner_external_id: no partner {reference!r}")
        return None
    if partner[1] == PartnerStatus.TERMINATED.value:
        errors.add(row.line, f"partner_external_id: partner {reference!r} is terminated")
        return None
    return partner[0]


def _check_people(
    db: Session, file: CsvFile, report: ImportReport, progress: Progress
) -> tuple[list[_PersonRow], list[_Update]]:
    """Every check of every row; returns the rows to create and the changes to existing
    people (errors go to ``file.errors``)."""
    errors = file.errors
    rows = file.rows
    progress.phase(f"checking {len(rows):,} people", len(rows))
    duplicates_within(rows, external_id_of, "external_id", errors)
    existing = _existing(db, Person, (external_id_of(row) for row in rows), Person.email_rows)
    updates: list[_Update] = []
    partners = resolve_partners(db, (row.values["partner_external_id"] for row in rows))
    valid: list[_PersonRow] = []
    first_use: dict[str, int] = {}
    lists = taxonomy.read(db)
    for row in counted(rows, progress):
        values = row.values
        try:
            data: PersonCreate | None = _PERSON.validate_python(
                {
                    "external_id": values["external_id"],
                    "given_name": values["given_name"],
                    "family_name": values["family_name"],
                    "track": values["track"].lower(),
                    "partner_id": _NO_PARTNER_YET if values["partner_external_id"] else None,
                    "emails": split_list(values["emails"]),
                    "did": optional(values.get("did")),
                }
            )
        except ValidationError as error:
            errors.add(row.line, describe(error))
            data = None
        partner_id = _person_partner(row, partners, errors)
        if data is not None:
            known_person = existing.get(data.external_id or "")
            held = [known_person.track] if known_person is not None else []
            refusal = lists.refusal(TaxonomyKind.TRACK, [data.track], held=held)
            if refusal is not None:
                errors.add(row.line, f"track: {refusal}")
        if data is None or errors.has(row.line):
            continue
        for address in data.emails:
            earlier = first_use.setdefault(address, row.line)
            if earlier != row.line or data.emails.count(address) > 1:
                where = "this line" if earlier == row.line else f"line {earlier}"
                errors.add(row.line, f"emails: {address} is already used on {where}")
                break
        known = existing.get(data.external_id or "")
        if known is not None:
            _update_person(row, known, data, partner_id, errors, report, updates)
        elif not errors.has(row.line):
            valid.append((row, data, partner_id))
    taken = lookup(
        db, PersonEmail.email, (address for _row, data, _p in valid for address in data.emails)
    )
    for row, data, _partner in valid:
        for address in data.emails:
            if address in taken:
                errors.add(row.line, f"emails: {address} already belongs to another person")
    return valid, updates


def _write_people(
    db: Session,
    actor: Principal,
    valid: list[_PersonRow],
    report: ImportReport,
    progress: Progress,
) -> None:
    now = clock.now()
    people: list[dict[str, Any]] = []
    emails: list[dict[str, Any]] = []
    employments: list[dict[str, Any]] = []
    drafts: list[events.Draft] = []
    for _row, data, partner_id in valid:
        person_id = new_id("per")
        people.append(
            {
                "id": person_id,
                "given_name": data.given_name,
                "family_name": data.family_name,
                "track": data.track,
                "partner_id": partner_id,
                "external_id": data.external_id,
                "did": data.did,
                "created_at": now,
                "updated_at": now,
            }
        )
        emails.extend(
            {
                "id": new_id("pem"),
                "person_id": person_id,
                "email": address,
                "primary": position == 0,
                "created_at": now,
            }
            for position, address in enumerate(data.emails)
        )
        if partner_id is not None:
            employments.append(
                {
                    "id": new_id("emp"),
                    "person_id": person_id,
                    "partner_id": partner_id,
                    "joined_at": now,
                    "left_at": None,
                }
            )
        drafts.append(
            events.Draft(
                "person.created",
                "person",
                person_id,
                {
                    "given_name": data.given_name,
                    "family_name": data.family_name,
                    "track": data.track,
                    "partner_id": partner_id,
                    "emails": data.emails,
                    "external_id": data.external_id,
                    "did": data.did,
                },
                partner_id=partner_id,
            )
        )
    progress.phase(f"writing {len(people):,} people", len(people))
    insert_batches(db, Person, people, progress)
    insert_batches(db, PersonEmail, emails)
    insert_batches(db, Employment, employments)
    report.created = len(people)
    record_created(db, actor, drafts, report, progress)
