"""Bulk issuance of awards from CSV (``charter awards bulk``).

Every row is judged against the criteria version in force, with the evidence already recorded
for the person (loaded for the whole file in a few queries, not one per row), exactly as
:func:`charter.credentials.service.issue_award` judges a single award. A row may carry an
``override_reason`` to issue despite unmet criteria, which needs the override permission.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import (
    Columns,
    CsvFile,
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
from charter.credentials import issuance
from charter.credentials.enums import AwardStatus, SubjectType
from charter.credentials.models import Award
from charter.credentials.rules import LIVE_STATUSES
from charter.credentials.schemas import AwardCreate
from charter.db.engine import settings_of
from charter.partners.imports import resolve_people
from charter.programs.imports import (
    certifications_by_reference,
    criteria_in_force_by_certification,
    evidence_by_person,
)
from charter.programs.models import Certification
from charter.programs.rules import check_requirements

AWARD_COLUMNS = Columns(
    required=("external_id", "person_external_id", "certification_code"),
    optional=("override_reason",),
)
_AWARD: TypeAdapter[AwardCreate] = TypeAdapter(AwardCreate)
_LIVE = [status.value for status in LIVE_STATUSES]


@dataclass(frozen=True, slots=True)
class _Issue:
    """An award that passed every check, ready to be written."""

    external_id: str
    person_id: str
    partner_id: str | None
    certification: Certification
    criteria_version_id: str
    criteria_version: int
    override_reason: str | None
    unmet: list[str]


@dataclass(frozen=True, slots=True)
class _Stale:
    """A live award past its end that the sweep has not expired yet."""

    award_id: str
    person_id: str
    certification_id: str
    valid_until: datetime
    partner_id: str | None
    status: str


def import_awards(
    db: Session,
    actor: Principal,
    *,
    source: Path | bytes,
    name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Issue awards from CSV: all rows are judged first; any bad row means none is issued."""
    file, report, progress = open_import(
        actor,
        Permission.AWARDS_ISSUE,
        kind="awards",
        source=source,
        columns=AWARD_COLUMNS,
        name=name,
        progress=progress,
    )
    now = clock.now()
    issues, stale = _check_awards(db, actor, file, report, progress, now)
    file.errors.raise_if_any(file.total)
    _write_awards(db, actor, issues, stale, report, progress, now)
    return report


def _live_awards(
    db: Session, person_ids: Iterable[str]
) -> dict[tuple[str, str], tuple[str, str, datetime, str | None]]:
    """Live awards of these people: (person, certification) → (id, status, until, firm)."""
    found: dict[tuple[str, str], tuple[str, str, datetime, str | None]] = {}
    columns = (
        Award.person_id,
        Award.certification_id,
        Award.id,
        Award.status,
        Award.valid_until,
        Award.partner_id,
    )
    for part in chunks(sorted(set(person_ids))):
        query = select(*columns).where(Award.person_id.in_(part), Award.status.in_(_LIVE))
        for person_id, certification_id, award_id, status, until, firm in db.execute(query):
            found[(str(person_id), certification_id)] = (award_id, status, until, firm)
    return found


def _held_codes(db: Session, person_ids: Iterable[str], at: datetime) -> dict[str, set[str]]:
    """Codes of certifications each person holds an active award for at ``at``."""
    held: dict[str, set[str]] = defaultdict(set)
    for part in chunks(sorted(set(person_ids))):
        query = (
            select(Award.person_id, Certification.code)
            .join(Certification, Certification.id == Award.certification_id)
            .where(
                Award.person_id.in_(part),
                Award.status == AwardStatus.ACTIVE.value,
                Award.issued_at <= at,
                Award.valid_until > at,
            )
        )
        for person_id, code in db.execute(query):
            held[str(person_id)].add(code)
    return held


def _check_awards(  # noqa: PLR0912, PLR0915 - one pass over the rows keeps every check in order
    db: Session,
    actor: Principal,
    file: CsvFile,
    report: ImportReport,
    progress: Progress,
    now: datetime,
) -> tuple[list[_Issue], list[_Stale]]:
    errors = file.errors
    rows = file.rows
    progress.phase(f"checking {len(rows):,} awards", len(rows))
    duplicates_within(rows, lambda row: row.values["external_id"], "external_id", errors)
    existing = lookup(db, Award.external_id, (row.values["external_id"] for row in rows))
    people = resolve_people(db, (row.values["person_external_id"] for row in rows))
    certifications = certifications_by_reference(
        db, (row.values["certification_code"] for row in rows)
    )
    person_ids = [person[0] for person in people.values()]
    criteria = criteria_in_force_by_certification(
        db, (certification.id for certification in certifications.values()), now
    )
    evidence = evidence_by_person(db, person_ids)
    held = _held_codes(db, person_ids, now)
    live = _live_awards(db, person_ids)
    may_override = actor.can(Permission.AWARDS_OVERRIDE)

    issues: list[_Issue] = []
    stale: list[_Stale] = []
    claimed: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        values = row.values
        line = row.line
        if index % 1000 == 999:
            progress.advance(1000)
        reference = values["person_external_id"]
        code = values["certification_code"]
        person = people.get(reference)
        certification = certifications.get(code)
        try:
            data = _AWARD.validate_python(
                {
                    "external_id": values["external_id"],
                    "person_id": person[0] if person else "per_pending",
                    "certification_id": certification.id if certification else "crt_pending",
                    "override_reason": optional(values.get("override_reason")),
                }
            )
        except ValidationError as error:
            errors.add(line, describe(error))
            continue
        if person is None:
            errors.add(line, f"person_external_id: no person {reference!r}")
        if certification is None:
            errors.add(line, f"certification_code: no certification {code!r}")
        if person is None or certification is None or errors.has(line):
            continue
        if data.external_id in existing:
            report.skipped.append((line, values["external_id"]))
            continue
        override = data.override_reason.strip() if data.override_reason is not None else None
        if override is not None and not may_override:
            errors.add(
                line, "override_reason: overriding criteria needs the awards:override permission"
            )
            continue
        if certification.retired_at is not None:
            errors.add(line, f"certification_code: {certification.code} is retired")
            continue
        pair = (person[0], certification.id)
        if pair in claimed:
            errors.add(
                line,
                f"{reference} is awarded {certification.code} already on line {claimed[pair]}",
            )
            continue
        current = live.get(pair)
        if current is not None:
            if current[2] > now:
                errors.add(
                    line,
                    f"{reference} already holds {'an' if current[1][0] in 'aeiou' else 'a'} "
                    f"{current[1]} award of {certification.code} "
                    f"({current[0]})",
                )
                continue
            # Past its end but not yet swept: expired now, as issuing one by one would.
            stale.append(_Stale(current[0], pair[0], pair[1], current[2], current[3], current[1]))
        in_force = criteria.get(certification.id)
        if in_force is None:
            errors.add(line, f"certification_code: {certification.code} has no criteria in force")
            continue
        version, requirements = in_force
        unmet = check_requirements(
            requirements, evidence.get(person[0], ()), held.get(person[0], set()), now
        )
        if unmet and override is None:
            errors.add(
                line,
                f"criteria version {version.version} of {certification.code} not met: "
                + "; ".join(unmet),
            )
            continue
        claimed[pair] = line
        # Later rows may need this certification as a prerequisite, as they would one by one.
        held.setdefault(person[0], set()).add(certification.code)
        issues.append(
            _Issue(
                external_id=values["external_id"],
                person_id=person[0],
                partner_id=person[1],
                certification=certification,
                criteria_version_id=version.id,
                criteria_version=version.version,
                override_reason=override,
                unmet=unmet if override is not None else [],
            )
        )
    progress.advance(len(rows) % 1000)
    return issues, stale


def _write_awards(
    db: Session,
    actor: Principal,
    issues: list[_Issue],
    stale: list[_Stale],
    report: ImportReport,
    progress: Progress,
    now: datetime,
) -> None:
    drafts: list[events.Draft] = []
    for old in stale:
        db.execute(
            update(Award)
            .where(Award.id == old.award_id)
            .values(
                status=AwardStatus.EXPIRED.value,
                status_changed_at=old.valid_until,
                status_reason=None,
                updated_at=now,
            )
        )
        drafts.append(
            events.Draft(
                "award.expired",
                "award",
                old.award_id,
                {
                    "person_id": old.person_id,
                    "certification_id": old.certification_id,
                    "valid_until": old.valid_until,
                    "previous_status": old.status,
                },
                partner_id=old.partner_id,
            )
        )
    rows: list[dict[str, Any]] = []
    for issue in issues:
        award_id = new_id("awd")
        certification = issue.certification
        valid_until = now + timedelta(days=certification.validity_days)
        rows.append(
            {
                "id": award_id,
                "certification_id": certification.id,
                "criteria_version_id": issue.criteria_version_id,
                "subject_type": SubjectType.PERSON.value,
                "person_id": issue.person_id,
                "partner_id": issue.partner_id,
                "status": AwardStatus.ACTIVE.value,
                "issued_at": now,
                "valid_until": valid_until,
                "status_reason": None,
                "status_changed_at": None,
                "override_reason": issue.override_reason,
                "renewed_at": None,
                "renewal_count": 0,
                "external_id": issue.external_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        drafts.append(
            events.Draft(
                "award.issued",
                "award",
                award_id,
                {
                    "person_id": issue.person_id,
                    "certification_id": certification.id,
                    "certification_code": certification.code,
                    "criteria_version_id": issue.criteria_version_id,
                    "criteria_version": issue.criteria_version,
                    "valid_until": valid_until,
                    "override": issue.override_reason is not None,
                    "override_reason": issue.override_reason,
                    "unmet_overridden": issue.unmet,
                    "external_id": issue.external_id,
                },
                partner_id=issue.partner_id,
            )
        )
    progress.phase(f"issuing {len(rows):,} awards", len(rows))
    db.flush()
    insert_batches(db, Award, rows, progress)
    report.created = len(rows)
    # Each new award gets its signed credential in the same transaction (pool-signed when many).
    issuance.issue_credentials_bulk(
        db,
        actor,
        [
            issuance.AwardFacts(
                id=row["id"],
                certification_id=row["certification_id"],
                criteria_version_id=row["criteria_version_id"],
                person_id=row["person_id"],
                partner_id=row["partner_id"],
                issued_at=row["issued_at"],
                valid_until=row["valid_until"],
            )
            for row in rows
        ],
        settings_of(db),
        progress=progress,
    )
    record_created(db, actor, drafts, report, progress)
