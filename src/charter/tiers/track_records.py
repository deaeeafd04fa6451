"""Track records: figures about a firm (deployments, satisfaction, ...), one by one or from CSV.

The latest recorded value of a metric is the one evaluation judges; a figure is never dated in
the future, and its ``external_id`` makes a re-import skip what it already holds.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import (
    Columns,
    CsvFile,
    ImportReport,
    Progress,
    describe,
    duplicates_within,
    external_id_of,
    insert_batches,
    lookup,
    open_import,
    optional,
    record_created,
)
from charter.core.errors import Conflict, Invalid
from charter.core.ids import new_id
from charter.partners.models import Partner
from charter.tiers.models import TrackRecord
from charter.tiers.schemas import TrackRecordCreate
from charter.tiers.state import scoped_partner

TRACK_RECORD_COLUMNS = Columns(
    required=("external_id", "partner_external_id", "metric", "value"),
    optional=("recorded_at", "source"),
)
_TRACK_RECORD: TypeAdapter[TrackRecordCreate] = TypeAdapter(TrackRecordCreate)


def record_track_record(db: Session, actor: Principal, *, data: TrackRecordCreate) -> TrackRecord:
    """Record a figure about a firm; the latest recorded value of a metric is the one judged."""
    actor.require(Permission.PARTNERS_LIFECYCLE)
    partner = scoped_partner(db, actor, data.partner_id, "partner_id")
    now = clock.now()
    recorded_at = data.recorded_at or now
    if recorded_at > now:
        raise Invalid.field("recorded_at", "must not be in the future")
    if data.external_id is not None and db.scalar(
        select(TrackRecord.id).where(TrackRecord.external_id == data.external_id)
    ):
        raise Conflict(f"a track record with external_id {data.external_id} already exists")
    row = TrackRecord(
        id=new_id("trk"),
        partner_id=partner.id,
        metric=data.metric,
        value=data.value,
        recorded_at=recorded_at,
        source=data.source,
        external_id=data.external_id,
        created_at=now,
    )
    db.add(row)
    db.flush()
    events.append(
        db,
        actor,
        "track_record.recorded",
        row,
        partner_id=partner.id,
        metric=row.metric,
        value=row.value,
        recorded_at=row.recorded_at,
        source=row.source,
        external_id=row.external_id,
    )
    return row


def list_track_records(db: Session, actor: Principal, *, partner_id: str) -> list[TrackRecord]:
    """A firm's recorded figures, oldest first."""
    actor.require(Permission.PARTNERS_READ)
    partner = scoped_partner(db, actor, partner_id)
    query = (
        select(TrackRecord)
        .where(TrackRecord.partner_id == partner.id)
        .order_by(TrackRecord.recorded_at, TrackRecord.id)
    )
    return list(db.scalars(query))


def import_track_records(
    db: Session,
    actor: Principal,
    *,
    source: Path | bytes,
    name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import track-record figures from CSV: all rows checked first, re-imports skipped."""
    file, report, progress = open_import(
        actor,
        Permission.PARTNERS_LIFECYCLE,
        kind="track records",
        source=source,
        columns=TRACK_RECORD_COLUMNS,
        name=name,
        progress=progress,
    )
    progress.phase(f"checking {len(file.rows):,} track records", len(file.rows))
    now = clock.now()
    valid = _checked(db, file, report, progress, now)
    file.errors.raise_if_any(file.total)
    rows = []
    drafts = []
    for data, partner_id in valid:
        record_id = new_id("trk")
        recorded_at = data.recorded_at or now
        rows.append(
            {
                "id": record_id,
                "partner_id": partner_id,
                "metric": data.metric,
                "value": data.value,
                "recorded_at": recorded_at,
                "source": data.source,
                "external_id": data.external_id,
                "created_at": now,
            }
        )
        drafts.append(
            events.Draft(
                "track_record.recorded",
                "track_record",
                record_id,
                {
                    "metric": data.metric,
                    "value": data.value,
                    "recorded_at": recorded_at,
                    "source": data.source,
                    "external_id": data.external_id,
                },
                partner_id=partner_id,
            )
        )
    progress.phase(f"writing {len(rows):,} track records", len(rows))
    insert_batches(db, TrackRecord, rows, progress)
    report.created = len(rows)
    record_created(db, actor, drafts, report, progress)
    return report


def _checked(
    db: Session, file: CsvFile, report: ImportReport, progress: Progress, now: datetime
) -> list[tuple[TrackRecordCreate, str]]:
    """The rows to create, each with its firm's id; errors and skipped rows noted on the way."""
    errors = file.errors
    duplicates_within(file.rows, external_id_of, "external_id", errors)
    existing = lookup(db, TrackRecord.external_id, (external_id_of(row) for row in file.rows))
    firms = lookup(
        db,
        Partner.external_id,
        (row.values["partner_external_id"] for row in file.rows),
        Partner.id,
    )
    valid: list[tuple[TrackRecordCreate, str]] = []
    for row in file.rows:
        values = row.values
        firm = firms.get(values["partner_external_id"])
        if firm is None:
            errors.add(
                row.line, f"partner_external_id: no partner {values['partner_external_id']!r}"
            )
            continue
        try:
            data = _TRACK_RECORD.validate_python(
                {
                    "partner_id": firm[0],
                    "metric": values["metric"],
                    "value": values["value"],
                    "recorded_at": optional(values.get("recorded_at")),
                    "source": optional(values.get("source")),
                    "external_id": values["external_id"] or None,
                }
            )
        except ValidationError as error:
            errors.add(row.line, describe(error))
            continue
        if data.recorded_at is not None and data.recorded_at > now:
            errors.add(row.line, "recorded_at: must not be in the future")
            continue
        if errors.has(row.line):
            continue
        if data.external_id in existing:
            report.skip(row)
            continue
        valid.append((data, firm[0]))
        progress.advance(1)
    return valid
