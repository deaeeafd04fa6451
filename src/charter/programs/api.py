"""Routes for certifications, their criteria, assessments and eligibility."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from charter.core import clock
from charter.core.schemas import Page
from charter.deps import CurrentPrincipal, Cursor, DbSession, Limit, api_router
from charter.partners.taxonomy_schemas import TrackFilter
from charter.programs import service
from charter.programs.enums import AssessmentKind, Level
from charter.programs.models import Certification
from charter.programs.schemas import (
    AssessmentCreate,
    AssessmentOut,
    CertificationCreate,
    CertificationOut,
    CertificationUpdate,
    CriteriaCreate,
    CriteriaVersionOut,
)

router = api_router()

IdQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_]+$")]


@router.post(
    "/certifications", status_code=201, response_model=CertificationOut, tags=["certifications"]
)
def create_certification(
    body: CertificationCreate, db: DbSession, actor: CurrentPrincipal
) -> Certification:
    """Create a certification with its first criteria version."""
    return service.create_certification(db, actor, data=body)


@router.get("/certifications", response_model=Page[CertificationOut], tags=["certifications"])
def list_certifications(
    db: DbSession,
    actor: CurrentPrincipal,
    track: TrackFilter = None,
    level: Level | None = None,
    retired: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[CertificationOut]:
    """Certifications, optionally by track, level and whether retired."""
    page = service.list_certifications(
        db, actor, track=track, level=level, retired=retired, cursor=cursor, limit=limit
    )
    return Page(
        items=[CertificationOut.model_validate(item) for item in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/certifications/{certification_id}",
    response_model=CertificationOut,
    tags=["certifications"],
)
def get_certification(
    certification_id: str, db: DbSession, actor: CurrentPrincipal
) -> Certification:
    """One certification."""
    return service.get_certification(db, actor, certification_id=certification_id)


@router.patch(
    "/certifications/{certification_id}",
    response_model=CertificationOut,
    tags=["certifications"],
)
def update_certification(
    certification_id: str, body: CertificationUpdate, db: DbSession, actor: CurrentPrincipal
) -> Certification:
    """Change a certification; the code never changes."""
    return service.update_certification(db, actor, certification_id=certification_id, data=body)


@router.post(
    "/certifications/{certification_id}/retire",
    response_model=CertificationOut,
    tags=["certifications"],
)
def retire_certification(
    certification_id: str, db: DbSession, actor: CurrentPrincipal
) -> Certification:
    """Retire a certification: no new awards; awards held stay valid until they expire."""
    return service.retire_certification(db, actor, certification_id=certification_id)


@router.post(
    "/certifications/{certification_id}/criteria",
    status_code=201,
    response_model=CriteriaVersionOut,
    tags=["certifications"],
)
def publish_criteria(
    certification_id: str, body: CriteriaCreate, db: DbSession, actor: CurrentPrincipal
) -> CriteriaVersionOut:
    """Publish a new criteria version, now or from a later date."""
    version = service.publish_criteria(db, actor, certification_id=certification_id, data=body)
    out = CriteriaVersionOut.model_validate(version)
    out.in_force = version.effective_from <= clock.now()
    return out


@router.get(
    "/certifications/{certification_id}/criteria",
    response_model=list[CriteriaVersionOut],
    tags=["certifications"],
)
def list_criteria(
    certification_id: str, db: DbSession, actor: CurrentPrincipal
) -> list[CriteriaVersionOut]:
    """Every criteria version, oldest first; ``in_force`` marks the one that applies now."""
    versions = service.list_criteria(db, actor, certification_id=certification_id)
    current = service.criteria_in_force(db, certification_id=certification_id, at=clock.now())
    result = []
    for version in versions:
        out = CriteriaVersionOut.model_validate(version)
        out.in_force = version.id == current.id
        result.append(out)
    return result


@router.post("/assessments", status_code=201, response_model=AssessmentOut, tags=["assessments"])
def record_assessment(
    body: AssessmentCreate, db: DbSession, actor: CurrentPrincipal
) -> AssessmentOut:
    """Record an exam score, lab result, customer reference or training."""
    return AssessmentOut.model_validate(service.record_assessment(db, actor, data=body))


@router.get("/assessments", response_model=Page[AssessmentOut], tags=["assessments"])
def list_assessments(
    db: DbSession,
    actor: CurrentPrincipal,
    person_id: IdQuery = None,
    partner_id: IdQuery = None,
    kind: AssessmentKind | None = None,
    code: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AssessmentOut]:
    """Assessments; ``partner_id`` means people now at that firm."""
    page = service.list_assessments(
        db,
        actor,
        person_id=person_id,
        partner_id=partner_id,
        kind=kind,
        code=code,
        cursor=cursor,
        limit=limit,
    )
    return Page(
        items=[AssessmentOut.model_validate(item) for item in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut, tags=["assessments"])
def get_assessment(assessment_id: str, db: DbSession, actor: CurrentPrincipal) -> AssessmentOut:
    """One assessment."""
    return AssessmentOut.model_validate(
        service.get_assessment(db, actor, assessment_id=assessment_id)
    )
