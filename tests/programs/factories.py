"""Certifications and assessments for tests, built through the programs service.

Defaults are realistic and unique per call; pass keyword overrides for what a test cares about.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.programs import service
from charter.programs.enums import AssessmentKind, Level
from charter.programs.models import Assessment, Certification
from charter.programs.rules import Requirements
from charter.programs.schemas import AssessmentCreate, CertificationCreate, CriteriaCreate
from tests.codes import Track

_counter = itertools.count(1)


def exam_code(certification: Certification) -> str:
    """The exam the factory's default criteria ask for."""
    return f"EXAM-{certification.code}"


def certification(db: Session, actor: Principal, **overrides: Any) -> Certification:
    """A certification; by default one exam (``exam_code(cert)``) passed with 70 or more.

    ``requirements``, ``narrative`` and ``effective_from`` set the first criteria directly.
    """
    n = next(_counter)
    code = overrides.pop("code", f"CLD-{n}{uuid.uuid4().hex[:4].upper()}")
    requirements = overrides.pop(
        "requirements", {"assessments": [{"code": f"EXAM-{code}", "min_score": 70}]}
    )
    criteria = overrides.pop(
        "criteria",
        CriteriaCreate(
            narrative=overrides.pop("narrative", "Pass the exam with 70% or more."),
            requirements=Requirements.model_validate(requirements),
            effective_from=overrides.pop("effective_from", None),
        ),
    )
    fields: dict[str, Any] = {
        "code": code,
        "name": f"Cloud Architect {n}",
        "track": Track.TECHNICAL,
        "level": Level.ASSOCIATE,
        "description": "Designs and operates deployments of the vendor's platform.",
        "image_url": f"https://badges.example.com/{code.lower()}.png",
        "validity_days": 365,
        "renewal_window_days": 60,
        "criteria": criteria,
    }
    fields.update(overrides)
    return service.create_certification(db, actor, data=CertificationCreate(**fields))


def assessment(db: Session, actor: Principal, *, person_id: str, **overrides: Any) -> Assessment:
    """A passed exam (score 85, yesterday) unless overridden."""
    fields: dict[str, Any] = {
        "person_id": person_id,
        "kind": AssessmentKind.EXAM,
        "code": "EXAM-GENERIC",
        "score": 85.0,
        "passed": True,
        "assessor": "Pearson VUE",
        "occurred_at": clock.now() - timedelta(days=1),
        "evidence_url": "https://exams.example.com/results/123",
        "external_id": f"exam-{uuid.uuid4().hex[:12]}",
    }
    fields.update(overrides)
    return service.record_assessment(db, actor, data=AssessmentCreate(**fields))


def passing_evidence(
    db: Session, actor: Principal, *, person_id: str, certification_id: str
) -> list[Assessment]:
    """Record evidence meeting every requirement in force now (prerequisites excepted)."""
    version = service.criteria_in_force(db, certification_id=certification_id, at=clock.now())
    requirements = Requirements.model_validate(version.requirements)
    recorded = [
        assessment(
            db,
            actor,
            person_id=person_id,
            code=exam.code,
            score=max(exam.min_score, 80.0),
        )
        for exam in requirements.assessments
    ]
    for kind, codes in (
        (AssessmentKind.LAB, requirements.labs),
        (AssessmentKind.TRAINING, requirements.trainings),
        (
            AssessmentKind.REFERENCE,
            [f"Customer {i}" for i in range(requirements.customer_references)],
        ),
    ):
        recorded.extend(
            assessment(db, actor, person_id=person_id, kind=kind, code=code, score=None)
            for code in codes
        )
    return recorded
