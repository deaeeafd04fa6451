"""``charter usage import``: usage records from CSV, all-or-nothing.

Columns: ``license`` (a license id or its key), ``metric``, ``quantity``, ``occurred_at`` (ISO
8601 with a zone), ``record_id``. Every row is checked as the API checks a record before
anything is written; records already stored (same license and ``record_id``) are reported as
skipped, so a file can be imported again safely.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.csvimport import (
    Columns,
    CsvRow,
    ImportReport,
    Progress,
    chunks,
    counted,
    describe,
    duplicates_within,
    lookup,
    open_import,
    record_created,
)
from charter.core.ids import is_id
from charter.db.engine import settings_of
from charter.licensing import keyformat, keystore, metering, usage
from charter.licensing.models import License
from charter.licensing.usage_models import UsageRecord
from charter.tiers.rules import Key

USAGE_COLUMNS = Columns(required=("license", "metric", "quantity", "occurred_at", "record_id"))


class _UsageRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: Key
    quantity: Annotated[int, Field(ge=1, le=metering.MAX_QUANTITY)]
    occurred_at: AwareDatetime
    record_id: metering.RecordId


_ROW: TypeAdapter[_UsageRow] = TypeAdapter(_UsageRow)


def resolve_licenses(db: Session, references: Iterable[str]) -> dict[str, str]:
    """Licenses a file names by id or by key: reference → license id (unknown ones left out)."""
    wanted = {reference for reference in references if reference}
    by_id = [reference for reference in wanted if is_id(reference, "lic")]
    found = {reference: reference for reference in lookup(db, License.id, by_id)}
    settings = settings_of(db)
    hashes: dict[str, str] = {}
    for reference in wanted - found.keys():
        try:
            hashes[keystore.lookup_hash(settings, keyformat.normalize(reference))] = reference
        except keyformat.MalformedKey:
            continue
    for digest, row in lookup(db, License.key_hash, hashes, License.id).items():
        found[hashes[digest]] = row[0]
    return found


def _already_stored(db: Session, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    stored: set[tuple[str, str]] = set()
    for part in chunks(pairs, 400):
        query = select(UsageRecord.license_id, UsageRecord.record_id).where(
            tuple_(UsageRecord.license_id, UsageRecord.record_id).in_(list(part))
        )
        stored.update((row[0], row[1]) for row in db.execute(query))
    return stored


def import_usage(
    db: Session,
    actor: Principal,
    *,
    source: Path | bytes,
    name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import usage records from CSV; every row is checked before any is written."""
    file, report, progress = open_import(
        actor,
        Permission.USAGE_REPORT,
        kind="usage",
        source=source,
        columns=USAGE_COLUMNS,
        name=name,
        progress=progress,
    )
    errors = file.errors
    rows = file.rows
    progress.phase(f"checking {len(rows):,} usage records", len(rows))
    licenses = resolve_licenses(db, (row.values["license"] for row in rows))

    def identity(row: CsvRow) -> str:
        license_id = licenses.get(row.values["license"])
        return f"{license_id} {row.values['record_id']}" if license_id else ""

    duplicates_within(rows, identity, "license and record_id", errors)
    metered = usage.metered_licenses(db, licenses.values())
    now = clock.now()
    checked: list[tuple[CsvRow, usage.Reading]] = []
    for row in counted(rows, progress):
        values = row.values
        license_id = licenses.get(values["license"])
        if license_id is None:
            errors.add(row.line, "license: no license has this id or key")
        try:
            data = _ROW.validate_python({k: v for k, v in values.items() if k != "license"})
        except ValidationError as error:
            errors.add(row.line, describe(error))
            continue
        if license_id is None or errors.has(row.line):
            continue
        occurred_at = clock.ensure_utc(data.occurred_at)
        problem = metering.record_problem(
            metric=data.metric,
            occurred_at=occurred_at,
            allowed=metered[license_id].allowed,
            license_start=metered[license_id].valid_from,
            now=now,
        )
        if problem is not None:
            errors.add(row.line, f"{problem[0]}: {problem[1]}")
            continue
        reading = usage.Reading(license_id, data.metric, data.quantity, occurred_at, data.record_id)
        checked.append((row, reading))
    errors.raise_if_any(file.total)
    stored = _already_stored(db, [(r.license_id, r.record_id) for _row, r in checked])
    readings: list[usage.Reading] = []
    for row, reading in checked:
        if (reading.license_id, reading.record_id) in stored:
            report.skipped.append((row.line, reading.record_id))
        else:
            readings.append(reading)
    progress.phase(f"writing {len(readings):,} usage records", len(readings))
    receipt = usage.store_readings(db, actor, readings)
    progress.advance(len(readings))
    report.created = receipt.accepted
    record_created(db, actor, [], report, progress)
    return report
