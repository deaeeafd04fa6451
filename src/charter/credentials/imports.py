"""Bulk issuance of awards from CSV (``charter awards bulk``).

Every row is judged against the criteria version in force, with the evidence already recorded
for the person (loaded for the whole file in a few queries, not one per row), exactly as
:func:`charter.credentials.service.issue_award` judges a single award. A row may carry an
``override_reason`` to issue despite unmet criteria, which needs the override permission.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import (
    Columns,
    CsvFile,
    CsvRow,
    ImportReport,
    Progress,
    RowErrors,
    chunks,
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
from charter.credentials.bulk.pipeline import AwardFacts, issue_credentials_bulk
from charter.credentials.enums import AwardStatus, SubjectType
from charter.credentials.models import Award
from charter.credentials.rules import LIVE_STATUSES
from charter.credentials.schemas import AwardCreate
from charter.db.engine import settings_of
from charter.partners.imports import resolve_people
from charter.programs.lookups import (
    certifications_by_reference,
    criteria_in_force_by_certification,
    evidence_by_person,
)
from charter.programs.models import Certification, CriteriaVersion
from charter.programs.rules import Evidence, Requirements, check_requirements

AWARD_COLUMNS = Columns(
    required=("external_id", "person_external_id", "certification_code"),
    optional=("override_reason",),
)
_AWARD: TypeAdapter[AwardCreate] = TypeAdapter(AwardCreate)


class IssuedAward(NamedTuple):
    """An award a bulk issuance created, and the rows it came from."""

    award_id: str
    external_id: str
    person_id: str
    person_external_id: str


class RejectedRow(NamedTuple):
    """A row left out of an issuance of the eligible rows: its values and why."""

    line: int
    values: dict[str, str]
    reasons: list[str]


@dataclass(slots=True)
class AwardImportReport(ImportReport):
    """What a bulk issuance did, with the awards it created in the file's order, and (when
    only the eligible rows were issued) the rows it left out."""

    issued: list[IssuedAward] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)


_LIVE = [status.value for status in LIVE_STATUSES]


@dataclass(frozen=True, slots=True)
class _LiveAward:
    """A person's live award of a certification, as the checks need it."""

    award_id: str
    person_id: str
    certification_id: str
    valid_until: datetime
    partner_id: str | None
    status: str


@dataclass(frozen=True, slots=True)
class _Issue:
    """An award that passed every check, ready to be written."""

    external_id: str
    person_id: str
    person_external_id: str
    partner_id: str | None
    certification: Certification
    criteria_version_id: str
    criteria_version: int
    override_reason: str | None
    unmet: list[str]
    # A live award of the same certification past its end that the sweep has not expired yet:
    # it is expired first, as issuing one by one would.
    replaces: _LiveAward | None


@dataclass(frozen=True, slots=True)
class _OnRecord:
    """What the checks need from the database, read for the whole file in a few queries."""

    existing: dict[str, tuple[Any, ...]]
    people: dict[str, tuple[str, str | None]]
    certifications: dict[str, Certification]
    criteria: dict[str, tuple[CriteriaVersion, Requirements]]
    evidence: dict[str, list[Evidence]]
    # Grows as rows pass: a later row may need an earlier one's certification as a prerequisite.
    held: dict[str, set[str]]
    live: dict[tuple[str, str], _LiveAward]
    may_override: bool


def import_awards(
    db: Session,
    actor: Principal,
    *,
    source: Path | bytes,
    name: str | None = None,
    progress: Progress | None = None,
    eligible_only: bool = False,
) -> AwardImportReport:
    """Issue awards from CSV: all rows are judged first; any bad row means none is issued.

    With ``eligible_only``, the rows that pass every check are issued and the others are
    listed in the report's ``rejected`` with their reasons, instead of refusing the file. A
    file that cannot be read (its encoding, its header) is still refused whole.
    """
    file, opened, progress = open_import(
        actor,
        Permission.AWARDS_ISSUE,
        kind="awards",
        source=source,
        columns=AWARD_COLUMNS,
        name=name,
        progress=progress,
    )
    report = AwardImportReport(opened.kind, opened.file_name, opened.file_sha256, opened.rows)
    now = clock.now()
    issues = _check_awards(db, actor, file, report, progress, now)
    if eligible_only:
        report.rejected = _rejected(file)
    else:
        file.errors.raise_if_any(file.total)
    _write_awards(db, actor, issues, report, progress, now)
    return report


def check_awards(
    db: Session, actor: Principal, *, source: Path | bytes, name: str | None = None
) -> AwardImportReport:
    """Judge every row as :func:`import_awards` would, writing nothing.

    The report counts in ``created`` the awards that would be issued, lists the rows already
    imported in ``skipped`` and every bad row with its reasons in ``rejected``.
    """
    file, opened, progress = open_import(
        actor,
        Permission.AWARDS_ISSUE,
        kind="awards",
        source=source,
        columns=AWARD_COLUMNS,
        name=name,
        progress=None,
    )
    report = AwardImportReport(opened.kind, opened.file_name, opened.file_sha256, opened.rows)
    issues = _check_awards(db, actor, file, report, progress, clock.now())
    report.created = len(issues)
    report.rejected = _rejected(file)
    return report


def _rejected(file: CsvFile) -> list[RejectedRow]:
    """The file's bad rows with their values (none for a row that could not be read)."""
    values = {row.line: row.values for row in file.rows}
    return [
        RejectedRow(line, values.get(line, {}), reasons)
        for line, reasons in file.errors.by_line().items()
    ]


def _live_awards(db: Session, person_ids: Iterable[str]) -> dict[tuple[str, str], _LiveAward]:
    """Live awards of these people by (person, certification)."""
    found: dict[tuple[str, str], _LiveAward] = {}
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
            live = _LiveAward(award_id, str(person_id), certification_id, until, firm, status)
            found[(live.person_id, certification_id)] = live
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


def _read_records(db: Session, actor: Principal, rows: list[CsvRow], now: datetime) -> _OnRecord:
    """Everything the file's rows refer to, each read for all rows at once."""
    existing = lookup(db, Award.external_id, (external_id_of(row) for row in rows))
    people = resolve_people(db, (row.values["person_external_id"] for row in rows))
    certifications = certifications_by_reference(
        db, (row.values["certification_code"] for row in rows)
    )
    person_ids = [person[0] for person in people.values()]
    return _OnRecord(
        existing=existing,
        people=people,
        certifications=certifications,
        criteria=criteria_in_force_by_certification(
            db, (certification.id for certification in certifications.values()), now
        ),
        evidence=evidence_by_person(db, person_ids),
        held=_held_codes(db, person_ids, now),
        live=_live_awards(db, person_ids),
        may_override=actor.can(Permission.AWARDS_OVERRIDE),
    )


def _check_awards(
    db: Session,
    actor: Principal,
    file: CsvFile,
    report: ImportReport,
    progress: Progress,
    now: datetime,
) -> list[_Issue]:
    """Every check of every row; returns the awards to issue (errors go to ``file.errors``)."""
    rows = file.rows
    progress.phase(f"checking {len(rows):,} awards", len(rows))
    duplicates_within(rows, external_id_of, "external_id", file.errors)
    records = _read_records(db, actor, rows, now)
    issues: list[_Issue] = []
    claimed: dict[tuple[str, str], int] = {}
    for row in counted(rows, progress):
        issue = _check_award(row, records, claimed, file.errors, report, now)
        if issue is None:
            continue
        claimed[(issue.person_id, issue.certification.id)] = row.line
        records.held.setdefault(issue.person_id, set()).add(issue.certification.code)
        issues.append(issue)
    return issues


def _check_award(
    row: CsvRow,
    records: _OnRecord,
    claimed: dict[tuple[str, str], int],
    errors: RowErrors,
    report: ImportReport,
    now: datetime,
) -> _Issue | None:
    """One row judged as issuing it alone would judge it; its first problem ends the checks."""
    found = _read_award(row, records, errors)
    if found is None:
        return None
    data, (person_id, partner_id), certification = found
    if data.external_id in records.existing:
        report.skip(row)
        return None
    override = data.override_reason.strip() if data.override_reason is not None else None
    pair = (person_id, certification.id)
    current = records.live.get(pair)
    problem = (
        _override_problem(override, records.may_override)
        or _retired_problem(certification)
        or _claimed_problem(row, certification, claimed.get(pair))
        or _live_award_problem(row, certification, current, now)
    )
    if problem is not None:
        errors.add(row.line, problem)
        return None
    judged = _judge_criteria(records, person_id, certification, override, now)
    if isinstance(judged, str):
        errors.add(row.line, judged)
        return None
    version, unmet = judged
    return _Issue(
        external_id=external_id_of(row),
        person_id=person_id,
        person_external_id=row.values["person_external_id"],
        partner_id=partner_id,
        certification=certification,
        criteria_version_id=version.id,
        criteria_version=version.version,
        override_reason=override,
        unmet=unmet if override is not None else [],
        replaces=current,
    )


def _read_award(
    row: CsvRow, records: _OnRecord, errors: RowErrors
) -> tuple[AwardCreate, tuple[str, str | None], Certification] | None:
    """The row checked with the API's schema, with its person and certification; or ``None``."""
    values = row.values
    reference = values["person_external_id"]
    code = values["certification_code"]
    person = records.people.get(reference)
    certification = records.certifications.get(code)
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
        errors.add(row.line, describe(error))
        return None
    if person is None:
        errors.add(row.line, f"person_external_id: no person {reference!r}")
    if certification is None:
        errors.add(row.line, f"certification_code: no certification {code!r}")
    if person is None or certification is None or errors.has(row.line):
        return None
    return data, person, certification


def _override_problem(override: str | None, may_override: bool) -> str | None:
    """Why the row may not override the criteria, if it tries to without the permission."""
    if override is not None and not may_override:
        return "override_reason: overriding criteria needs the awards:override permission"
    return None


def _retired_problem(certification: Certification) -> str | None:
    """Why the certification cannot be awarded any more, if it is retired."""
    if certification.retired_at is not None:
        return f"certification_code: {certification.code} is retired"
    return None


def _claimed_problem(row: CsvRow, certification: Certification, earlier: int | None) -> str | None:
    """Why the row repeats an award an ``earlier`` line of the file already issues."""
    if earlier is not None:
        reference = row.values["person_external_id"]
        return f"{reference} is awarded {certification.code} already on line {earlier}"
    return None


def _live_award_problem(
    row: CsvRow, certification: Certification, current: _LiveAward | None, now: datetime
) -> str | None:
    """Why the person cannot get the award: they hold a live one that has not ended."""
    if current is None or current.valid_until <= now:
        # Past its end but not yet swept: it is expired before the new one is issued.
        return None
    reference = row.values["person_external_id"]
    article = "an" if current.status[0] in "aeiou" else "a"
    return (
        f"{reference} already holds {article} {current.status} award of {certification.code} "
        f"({current.award_id})"
    )


def _judge_criteria(
    records: _OnRecord,
    person_id: str,
    certification: Certification,
    override: str | None,
    now: datetime,
) -> tuple[CriteriaVersion, list[str]] | str:
    """The criteria version in force and the requirements left unmet, or why not to issue."""
    in_force = records.criteria.get(certification.id)
    if in_force is None:
        return f"certification_code: {certification.code} has no criteria in force"
    version, requirements = in_force
    unmet = check_requirements(
        requirements, records.evidence.get(person_id, ()), records.held.get(person_id, set()), now
    )
    if unmet and override is None:
        return f"criteria version {version.version} of {certification.code} not met: " + "; ".join(
            unmet
        )
    return version, unmet


def _write_awards(
    db: Session,
    actor: Principal,
    issues: list[_Issue],
    report: AwardImportReport,
    progress: Progress,
    now: datetime,
) -> None:
    """Expire what the new awards replace, insert them with their credentials, log events."""
    drafts = _expire_replaced(db, issues, now)
    rows: list[dict[str, Any]] = []
    for issue in issues:
        row = _award_row(issue, new_id("awd"), now)
        rows.append(row)
        drafts.append(_issued_event(issue, row))
        report.issued.append(
            IssuedAward(row["id"], issue.external_id, issue.person_id, issue.person_external_id)
        )
    progress.phase(f"issuing {len(rows):,} awards", len(rows))
    db.flush()
    insert_batches(db, Award, rows, progress)
    report.created = len(rows)
    # Each new award gets its signed credential in the same transaction (pool-signed when many).
    issue_credentials_bulk(
        db,
        actor,
        [
            AwardFacts(
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


def _expire_replaced(db: Session, issues: list[_Issue], now: datetime) -> list[events.Draft]:
    """Store as expired the live awards past their end that new ones replace; their events."""
    drafts: list[events.Draft] = []
    for old in (issue.replaces for issue in issues if issue.replaces is not None):
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
    return drafts


def _award_row(issue: _Issue, award_id: str, now: datetime) -> dict[str, Any]:
    """The new award's row, active from ``now`` for the certification's validity."""
    certification = issue.certification
    return {
        "id": award_id,
        "certification_id": certification.id,
        "criteria_version_id": issue.criteria_version_id,
        "subject_type": SubjectType.PERSON.value,
        "person_id": issue.person_id,
        "partner_id": issue.partner_id,
        "status": AwardStatus.ACTIVE.value,
        "issued_at": now,
        "valid_until": now + timedelta(days=certification.validity_days),
        "status_reason": None,
        "status_changed_at": None,
        "override_reason": issue.override_reason,
        "renewed_at": None,
        "renewal_count": 0,
        "external_id": issue.external_id,
        "created_at": now,
        "updated_at": now,
    }


def _issued_event(issue: _Issue, row: dict[str, Any]) -> events.Draft:
    """The ``award.issued`` event of the award written as ``row``."""
    certification = issue.certification
    return events.Draft(
        "award.issued",
        "award",
        row["id"],
        {
            "person_id": issue.person_id,
            "certification_id": certification.id,
            "certification_code": certification.code,
            "criteria_version_id": issue.criteria_version_id,
            "criteria_version": issue.criteria_version,
            "valid_until": row["valid_until"],
            "override": issue.override_reason is not None,
            "override_reason": issue.override_reason,
            "unmet_overridden": issue.unmet,
            "external_id": issue.external_id,
        },
        partner_id=issue.partner_id,
    )
