"""CSV import of assessments (``charter import assessments``), and bulk reads for award imports.

Rows are checked with the API's :class:`AssessmentCreate` plus the service's own rules (no
future dates, an exam needs a score) and the references to people, before anything is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import (
    Columns,
    CsvFile,
    CsvRow,
    ImportReport,
    Progress,
    chunks,
    describe,
    duplicates_within,
    insert_batches,
    lookup,
    open_import,
    optional,
    record_created,
)
from charter.core.ids import new_id
from charter.partners.imports import resolve_people
from charter.programs.enums import AssessmentKind
from charter.programs.models import Assessment, Certification, CriteriaVersion
from charter.programs.rules import Evidence, Requirements
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
    errors = file.errors
    rows = file.rows
    progress.phase(f"checking {len(rows):,} assessments", len(rows))
    duplicates_within(rows, lambda row: row.values["external_id"], "external_id", errors)
    existing = lookup(db, Assessment.external_id, (row.values["external_id"] for row in rows))
    people = resolve_people(db, (row.values["person_external_id"] for row in rows))
    now = clock.now()
    valid: list[_AssessmentRow] = []
    for index, row in enumerate(rows):
        values = row.values
        if index % 1000 == 999:
            progress.advance(1000)
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
            report.skipped.append((row.line, values["external_id"]))
        else:
            valid.append((row, data, person[0], person[1]))
    progress.advance(len(rows) % 1000)
    return valid


def _write_assessments(
    db: Session,
    actor: Principal,
    valid: list[_AssessmentRow],
    report: ImportReport,
    progress: Progress,
) -> None:
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


def evidence_by_person(db: Session, person_ids: Iterable[str]) -> dict[str, list[Evidence]]:
    """Every recorded assessment of these people, as criteria checks need them."""
    found: dict[str, list[Evidence]] = defaultdict(list)
    wanted = sorted(set(person_ids))
    columns = (
        Assessment.person_id,
        Assessment.kind,
        Assessment.code,
        Assessment.passed,
        Assessment.occurred_at,
        Assessment.score,
    )
    for part in chunks(wanted):
        for person_id, kind, code, passed, occurred_at, score in db.execute(
            select(*columns).where(Assessment.person_id.in_(part))
        ):
            found[person_id].append(
                Evidence(
                    kind=AssessmentKind(kind),
                    code=code,
                    passed=passed,
                    occurred_at=occurred_at,
                    score=score,
                )
            )
    return found


def certifications_by_reference(db: Session, references: Iterable[str]) -> dict[str, Certification]:
    """Certifications named by code or by id: reference → certification."""
    wanted = {reference for reference in references if reference}
    found: dict[str, Certification] = {}
    for part in chunks(sorted(wanted)):
        for certification in db.scalars(
            select(Certification).where(Certification.code.in_(part) | Certification.id.in_(part))
        ):
            for reference in (certification.code, certification.id):
                if reference in wanted:
                    found[reference] = certification
    return found


def criteria_in_force_by_certification(
    db: Session, certification_ids: Iterable[str], at: datetime
) -> dict[str, tuple[CriteriaVersion, Requirements]]:
    """The criteria version in force at ``at`` for each certification that has one."""
    best: dict[str, CriteriaVersion] = {}
    for part in chunks(sorted(set(certification_ids))):
        for version in db.scalars(
            select(CriteriaVersion).where(
                CriteriaVersion.certification_id.in_(part), CriteriaVersion.effective_from <= at
            )
        ):
            current = best.get(version.certification_id)
            if current is None or (version.effective_from, version.version) > (
                current.effective_from,
                current.version,
            ):
                best[version.certification_id] = version
    return {
        certification_id: (version, Requirements.model_validate(version.requirements))
        for certification_id, version in best.items()
    }
