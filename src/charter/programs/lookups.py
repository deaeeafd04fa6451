"""Bulk reads of program records for checking many awards at once (``charter awards bulk``).

Each read takes every key a file names and answers in a few chunked queries, so checking a file
costs the same handful of queries whether it has ten rows or a hundred thousand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core.csvimport import chunks
from charter.programs.enums import AssessmentKind
from charter.programs.models import Assessment, Certification, CriteriaVersion
from charter.programs.rules import Evidence, Requirements


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
