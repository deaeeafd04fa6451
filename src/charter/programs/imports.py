"""CSV import of assessments (``charter import assessments``).

Rows are checked with the API's :class:`AssessmentCreate` plus the service's own rules (no
future dates, an exam needs a score) and the references to people, before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import (
    Columns,
    CsvFile,
    CsvRow,
    ImportReport,
    Progress,
    counted,
    describe,
    duplicates_within,
    external_id_of,
    insert_batches,
    lookup,
    open_import,
    optional,
    record_created,
)
from charter.core.ids import new_id
from charter.partners.imports import resolve_people
from charter.programs.enums import AssessmentKind
from charter.programs.models import Assessment
from charter.programs.schemas import AssessmentCreate

ASSESSMENT_COLUMNS = Columns(
    required=(
        "external_id",
        "person_external_id",
        "kind",
        "code",
        "passed",
        "assessor",
        "occurred_at",
    ),
    optional=("score", "evidence_url", "evidence_sha256"),
)
_ASSESSMENT: TypeAdapter[AssessmentCreate] = TypeAdapter(AssessmentCreate)
# Stands in for the person's id while the row is validated; the reference is checked apart.
_NO_PERSON_YET = "per_pending"

_AssessmentRow = tuple[CsvRow, AssessmentCreate, str, str | None]


def import_assessments(
    db: Session,
    actor: Principal,
    *,
    source: Path | bytes,
    name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import exam scores, labs, references and trainings; all rows are checked first."""
    file, report, progress = open_import(
        actor,
        Permission.ASSESSMENTS_WRITE,
        kind="assessments",
        source=source,
        columns=ASSESSMENT_COLUMNS,
        name=name,
        progress=progress,
    )
    valid = _check_assessments(db, file, report, progress)
    file.errors.raise_if_any(file.total)
    _write_assessments(db, actor, valid, report, progress)
    return report


def _check_assessments(
    db: Session, file: CsvFile, report: ImportReport, progress: Progress
) -> list[_AssessmentRow]:
    """Every check of every row; returns the rows to record (errors go to ``file.errors``)."""
    errors = file.errors
    rows = file.rows
    progress.phase(f"checking {len(rows):,} assessments", len(rows))
    duplicates_within(rows, external_id_of, "external_id", errors)
    existing = lookup(db, Assessment.external_id, (external_id_of(row) for row in rows))
    people = resolve_people(db, (row.values["person_external_id"] for row in rows))
    now = clock.now()
    valid: list[_AssessmentRow] = []
    for row in counted(rows, progress):
        values = row.values
        try:
            data = _ASSESSMENT.validate_python(
                {
                    "external_id": values["external_id"],
                    "person_id": _NO_PERSON_YET,
                    "kind": values["kind"].lower(),
                    "code": values["code"],
                    "score": optional(values.get("score")),
                    "passed": values["passed"],
                    "assessor": values["assessor"],
                    "occurred_at": values["occurred_at"],
                    "evidence_url": optional(values.get("evidence_url")),
                    "evidence_sha256": optional(values.get("evidence_sha256")),
                }
            )
        except ValidationError as error:
            errors.add(row.line, describe(error))
            data = None
        reference = values["person_external_id"]
        person = people.get(reference)
        if person is None:
            errors.add(
                row.line,
                f"person_external_id: no person {reference!r}"
                if reference
                else "person_external_id: is required",
            )
        if data is None or person is None:
            continue
        if data.occurred_at > now:
            errors.add(row.line, "occurred_at: must not be in the future")
        if data.kind is AssessmentKind.EXAM and data.score is None:
            errors.add(row.line, "score: an exam result needs a score")
        if errors.has(row.line):
            continue
        if data.external_id in existing:
            report.skip(row)
        else:
            valid.append((row, data, person[0], person[1]))
    return valid


def _write_assessments(
    db: Session,
    actor: Principal,
    valid: list[_AssessmentRow],
    report: ImportReport,
    progress: Progress,
) -> None:
    """Insert the assessments, then one ``assessment.recorded`` event each."""
    now = clock.now()
    rows: list[dict[str, Any]] = []
    drafts: list[events.Draft] = []
    for _row, data, person_id, partner_id in valid:
        assessment_id = new_id("asm")
        occurred_at = clock.ensure_utc(data.occurred_at)
        kind = data.kind.value
        rows.append(
            {
                "id": assessment_id,
                "person_id": person_id,
                "kind": kind,
                "code": data.code,
                "score": data.score,
                "passed": data.passed,
                "assessor": data.assessor,
                "occurred_at": occurred_at,
                "evidence_url": data.evidence_url,
                "evidence_sha256": data.evidence_sha256,
                "external_id": data.external_id,
                "created_at": now,
            }
        )
        drafts.append(
            events.Draft(
                "assessment.recorded",
                "assessment",
                assessment_id,
                {
                    "person_id": person_id,
                    "kind": kind,
                    "code": data.code,
                    "score": data.score,
                    "passed": data.passed,
                    "occurred_at": occurred_at,
                    "external_id": data.external_id,
                },
                partner_id=partner_id,
            )
        )
    progress.phase(f"writing {len(rows):,} assessments", len(rows))
    insert_batches(db, Assessment, rows, progress)
    report.created = len(rows)
    record_created(db, actor, drafts, report, progress)
