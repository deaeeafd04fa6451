"""Eligibility: a person's evidence and held certifications judged against published criteria.

It lives with credentials because criteria may require other certifications, and what a
person holds is their live awards; the criteria themselves and the evidence are the programs
domain's, reached through its service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.programs import service as programs
from charter.programs.models import Certification
from charter.programs.rules import Requirements, check_requirements


@dataclass(frozen=True, slots=True)
class CriteriaResult:
    """A person judged against one criteria version at one instant."""

    person_id: str
    certification_id: str
    criteria_version_id: str
    criteria_version: int
    evaluated_at: datetime
    unmet: list[str]

    @property
    def met(self) -> bool:
        """Whether every requirement is met."""
        return not self.unmet


def held_certification_codes(db: Session, *, person_id: str, at: datetime) -> set[str]:
    """Codes of the certifications a person holds an active, unexpired award for at ``at``."""
    rows = db.scalars(
        select(Certification.code)
        .join(Award, Award.certification_id == Certification.id)
        .where(
            Award.person_id == person_id,
            Award.status == AwardStatus.ACTIVE.value,
            Award.issued_at <= at,
            Award.valid_until > at,
        )
    )
    return set(rows)


def evaluate_criteria(
    db: Session, *, person_id: str, certification_id: str, at: datetime
) -> CriteriaResult:
    """Judge a person's evidence against the criteria version in force at ``at``."""
    version = programs.criteria_in_force(db, certification_id=certification_id, at=at)
    requirements = Requirements.model_validate(version.requirements)
    held = held_certification_codes(db, person_id=person_id, at=at)
    unmet = check_requirements(requirements, programs.evidence_of(db, person_id), held, at)
    return CriteriaResult(
        person_id=person_id,
        certification_id=certification_id,
        criteria_version_id=version.id,
        criteria_version=version.version,
        evaluated_at=at,
        unmet=unmet,
    )


def check_eligibility(
    db: Session, actor: Principal, *, person_id: str, certification_id: str
) -> CriteriaResult:
    """Whether a person meets a certification's criteria now, and what is missing."""
    actor.require(Permission.ASSESSMENTS_READ)
    person = programs.person_for(db, actor, person_id=person_id)
    certification = programs.get_certification(db, actor, certification_id=certification_id)
    return evaluate_criteria(
        db, person_id=person.id, certification_id=certification.id, at=clock.now()
    )
