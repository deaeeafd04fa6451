"""Certifications, their versioned criteria, assessments, and evaluating a person against them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate
from charter.core.text import text_filter
from charter.db.unique import insert_unique
from charter.partners import service as partners
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.partners.models import Person
from charter.programs.enums import AssessmentKind, Level
from charter.programs.models import Assessment, Certification, CriteriaVersion
from charter.programs.rules import Evidence, Requirements
from charter.programs.schemas import (
    AssessmentCreate,
    CertificationCreate,
    CertificationUpdate,
    CriteriaCreate,
)


def person_for(
    db: Session, actor: Principal, *, person_id: str, field: str | None = None
) -> Person:
    """The person, within the actor's partner scope; NotFound, or Invalid naming ``field``."""
    try:
        if not is_id(person_id, "per"):
            raise NotFound(f"person {person_id} not found")
        person = partners.get_person(db, Principal.system(), person_id=person_id)
        actor.require_partner(person.partner_id, f"person {person_id}")
    except NotFound as error:
        if field is None:
            raise
        raise Invalid.field(field, f"no person with id {person_id}") from error
    return person


def _certification(db: Session, certification_id: str, *, lock: bool = False) -> Certification:
    found = None
    if is_id(certification_id, "crt"):
        query = select(Certification).where(Certification.id == certification_id)
        if lock:
            query = query.with_for_update()
        found = db.scalar(query)
    if found is None:
        raise NotFound(f"certification {certification_id} not found")
    return found


def get_certification(db: Session, actor: Principal, *, certification_id: str) -> Certification:
    """A certification by id; every signed-in role may read the catalog."""
    actor.require(Permission.CERTIFICATIONS_READ)
    return _certification(db, certification_id)


def get_certifications(
    db: Session, actor: Principal, *, certification_ids: Iterable[str]
) -> dict[str, Certification]:
    """The certifications with these ids, by id, in one query; :class:`NotFound` for an id
    that names none (pages list many awards' certifications at once)."""
    actor.require(Permission.CERTIFICATIONS_READ)
    wanted = set(certification_ids)
    ids = [certification_id for certification_id in wanted if is_id(certification_id, "crt")]
    found = (
        {
            certification.id: certification
            for certification in db.scalars(select(Certification).where(Certification.id.in_(ids)))
        }
        if ids
        else {}
    )
    missing = sorted(wanted - set(found))
    if missing:
        raise NotFound(f"certification {missing[0]} not found")
    return found


def get_certification_by_code(db: Session, *, code: str) -> Certification | None:
    """The certification with this code, if any."""
    return db.scalar(select(Certification).where(Certification.code == code))


def list_certifications(
    db: Session,
    actor: Principal,
    *,
    track: str | None = None,
    level: Level | None = None,
    retired: bool | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Certification]:
    """Certifications, oldest first, optionally by track, level and whether retired."""
    actor.require(Permission.CERTIFICATIONS_READ)
    check_cursor(cursor)
    taxonomy.require_known(db, TaxonomyKind.TRACK, "track", track)
    query = select(Certification)
    if track is not None:
        query = query.where(Certification.track == track)
    if level is not None:
        query = query.where(Certification.level == level.value)
    if retired is True:
        query = query.where(Certification.retired_at.is_not(None))
    elif retired is False:
        query = query.where(Certification.retired_at.is_(None))
    return paginate(db, query, Certification.id, cursor=cursor, limit=limit)


def _check_prerequisites(
    db: Session, requirements: Requirements, *, own_code: str, field: str
) -> None:
    for index, code in enumerate(requirements.prerequisites):
        if code == own_code:
            raise Invalid.field(f"{field}.{index}", "a certification cannot require itself")
        if get_certification_by_code(db, code=code) is None:
            raise Invalid.field(f"{field}.{index}", f"no certification with code {code}")


def create_certification(
    db: Session, actor: Principal, *, data: CertificationCreate
) -> Certification:
    """Create a certification with its first criteria version (in force from now by default)."""
    actor.require(Permission.CERTIFICATIONS_WRITE)
    now = clock.now()
    if data.renewal_window_days > data.validity_days:
        raise Invalid.field("renewal_window_days", "must not exceed validity_days")
    effective_from = data.criteria.effective_from or now
    if effective_from > now:
        # Awards need criteria in force from the start; later changes are scheduled as versions.
        raise Invalid.field(
            "criteria.effective_from", "the first criteria must be in force now or earlier"
        )
    taxonomy.require_codes(db, TaxonomyKind.TRACK, "track", [data.track])
    if get_certification_by_code(db, code=data.code) is not None:
        raise Conflict(f"a certification with code {data.code} already exists")
    _check_prerequisites(
        db,
        data.criteria.requirements,
        own_code=data.code,
        field="criteria.requirements.prerequisites",
    )
    certification = Certification(
        id=new_id("crt"),
        code=data.code,
        name=data.name,
        track=data.track,
        level=data.level.value,
        description=data.description,
        image_url=data.image_url,
        validity_days=data.validity_days,
        renewal_window_days=data.renewal_window_days,
    )
    insert_unique(db, certification, f"a certification with code {data.code} already exists")
    version = CriteriaVersion(
        id=new_id("crv"),
        certification_id=certification.id,
        version=1,
        effective_from=effective_from,
        narrative=data.criteria.narrative,
        requirements=data.criteria.requirements.model_dump(mode="json"),
        created_at=now,
    )
    db.add(version)
    db.flush()
    events.append(
        db,
        actor,
        "certification.created",
        certification,
        code=certification.code,
        name=certification.name,
        track=certification.track,
        level=certification.level,
        validity_days=certification.validity_days,
        renewal_window_days=certification.renewal_window_days,
        criteria_version_id=version.id,
    )
    _criteria_published(db, actor, certification, version, previous=None)
    return certification


def update_certification(
    db: Session, actor: Principal, *, certification_id: str, data: CertificationUpdate
) -> Certification:
    """Change a certification's descriptive fields, level, track or validity."""
    actor.require(Permission.CERTIFICATIONS_WRITE)
    certification = _certification(db, certification_id, lock=True)
    changes = data.model_dump(exclude_unset=True)
    for name in ("name", "track", "level", "description", "validity_days", "renewal_window_days"):
        if name in changes and changes[name] is None:
            raise Invalid.field(name, "cannot be cleared")
    if "track" in changes:
        taxonomy.require_codes(
            db, TaxonomyKind.TRACK, "track", [changes["track"]], held=[certification.track]
        )
    validity = changes.get("validity_days", certification.validity_days)
    window = changes.get("renewal_window_days", certification.renewal_window_days)
    if window > validity:
        field = "renewal_window_days" if "renewal_window_days" in changes else "validity_days"
        raise Invalid.field(
            field,
            f"the renewal window ({window} days) must not exceed the validity ({validity} days)",
        )
    changed: dict[str, Any] = {}
    for name, value in changes.items():
        stored = value.value if isinstance(value, Level) else value
        if getattr(certification, name) != stored:
            setattr(certification, name, stored)
            changed[name] = stored
    if changed:
        db.flush()
        events.append(db, actor, "certification.updated", certification, changes=changed)
    return certification


def retire_certification(db: Session, actor: Principal, *, certification_id: str) -> Certification:
    """Retire a certification: no new awards or renewals; awards held stay valid until expiry."""
    actor.require(Permission.CERTIFICATIONS_WRITE)
    certification = _certification(db, certification_id, lock=True)
    if certification.retired_at is not None:
        raise Conflict(f"certification {certification.code} is already retired")
    certification.retired_at = clock.now()
    db.flush()
    events.append(db, actor, "certification.retired", certification, code=certification.code)
    return certification


def _versions(db: Session, certification_id: str) -> list[CriteriaVersion]:
    return list(
        db.scalars(
            select(CriteriaVersion)
            .where(CriteriaVersion.certification_id == certification_id)
            .order_by(CriteriaVersion.version)
        )
    )


def _in_force(versions: list[CriteriaVersion], at: datetime) -> CriteriaVersion | None:
    current = None
    for version in versions:
        if version.effective_from <= at and (
            current is None
            or (version.effective_from, version.version)
            >= (current.effective_from, current.version)
        ):
            current = version
    return current


def criteria_in_force(db: Session, *, certification_id: str, at: datetime) -> CriteriaVersion:
    """The latest criteria version with ``effective_from <= at``."""
    found = db.scalar(
        select(CriteriaVersion)
        .where(
            CriteriaVersion.certification_id == certification_id,
            CriteriaVersion.effective_from <= at,
        )
        .order_by(CriteriaVersion.effective_from.desc(), CriteriaVersion.version.desc())
        .limit(1)
    )
    if found is None:
        raise NotFound(f"certification {certification_id} has no criteria in force at {at}")
    return found


def list_criteria(db: Session, actor: Principal, *, certification_id: str) -> list[CriteriaVersion]:
    """Every criteria version of a certification, oldest first."""
    actor.require(Permission.CERTIFICATIONS_READ)
    certification = _certification(db, certification_id)
    return _versions(db, certification.id)


def _criteria_published(
    db: Session,
    actor: Principal,
    certification: Certification,
    version: CriteriaVersion,
    *,
    previous: CriteriaVersion | None,
) -> None:
    events.append(
        db,
        actor,
        "criteria.published",
        version,
        certification_id=certification.id,
        certification_code=certification.code,
        version=version.version,
        effective_from=version.effective_from,
        previous_version=previous.version if previous else None,
        requirements=version.requirements,
    )


def publish_criteria(
    db: Session, actor: Principal, *, certification_id: str, data: CriteriaCreate
) -> CriteriaVersion:
    """Publish a new criteria version, in force from ``effective_from`` (now by default).

    A version may be scheduled ahead, but never dated before the latest one published: the
    history of what was required when must not be rewritten.
    """
    actor.require(Permission.CERTIFICATIONS_WRITE)
    certification = _certification(db, certification_id, lock=True)
    if certification.retired_at is not None:
        raise Conflict(f"certification {certification.code} is retired")
    now = clock.now()
    effective_from = data.effective_from or now
    versions = _versions(db, certification.id)
    latest = max(versions, key=lambda v: (v.effective_from, v.version), default=None)
    if latest is not None and effective_from < latest.effective_from:
        in_force = _in_force(versions, now)
        which = "in force" if in_force is not None and in_force.id == latest.id else "scheduled"
        raise Invalid.field(
            "effective_from",
            f"must not be before {latest.effective_from.isoformat()}, when version "
            f"{latest.version} ({which}) takes effect",
        )
    _check_prerequisites(
        db, data.requirements, own_code=certification.code, field="requirements.prerequisites"
    )
    version = CriteriaVersion(
        id=new_id("crv"),
        certification_id=certification.id,
        version=max((v.version for v in versions), default=0) + 1,
        effective_from=effective_from,
        narrative=data.narrative,
        requirements=data.requirements.model_dump(mode="json"),
        created_at=now,
    )
    insert_unique(db, version, "another criteria version was published at the same time; retry")
    _criteria_published(db, actor, certification, version, previous=latest)
    return version


def record_assessment(db: Session, actor: Principal, *, data: AssessmentCreate) -> Assessment:
    """Record an exam score, lab result, customer reference or training for a person."""
    actor.require(Permission.ASSESSMENTS_WRITE)
    person = person_for(db, actor, person_id=data.person_id, field="person_id")
    now = clock.now()
    if data.occurred_at > now:
        raise Invalid.field("occurred_at", "must not be in the future")
    if data.kind is AssessmentKind.EXAM and data.score is None:
        raise Invalid.field("score", "an exam result needs a score")
    conflict = f"an assessment with external_id {data.external_id} is already recorded"
    if data.external_id is not None and db.scalar(
        select(Assessment.id).where(Assessment.external_id == data.external_id)
    ):
        raise Conflict(conflict)
    assessment = Assessment(
        id=new_id("asm"),
        person_id=person.id,
        kind=data.kind.value,
        code=data.code,
        score=data.score,
        passed=data.passed,
        assessor=data.assessor,
        occurred_at=data.occurred_at,
        evidence_url=data.evidence_url,
        evidence_sha256=data.evidence_sha256,
        external_id=data.external_id,
        created_at=now,
    )
    insert_unique(db, assessment, conflict)
    events.append(
        db,
        actor,
        "assessment.recorded",
        assessment,
        partner_id=person.partner_id,
        person_id=person.id,
        kind=assessment.kind,
        code=assessment.code,
        score=assessment.score,
        passed=assessment.passed,
        occurred_at=assessment.occurred_at,
        external_id=assessment.external_id,
    )
    return assessment


def get_assessment(db: Session, actor: Principal, *, assessment_id: str) -> Assessment:
    """An assessment; partner users see only those of people now at their firm."""
    actor.require(Permission.ASSESSMENTS_READ)
    assessment = db.get(Assessment, assessment_id) if is_id(assessment_id, "asm") else None
    if assessment is None:
        raise NotFound(f"assessment {assessment_id} not found")
    if actor.partner_scope is not None:
        holder = db.get(Person, assessment.person_id)
        actor.require_partner(holder.partner_id if holder else None, "assessment")
    return assessment


def list_assessments(
    db: Session,
    actor: Principal,
    *,
    person_id: str | None = None,
    partner_id: str | None = None,
    kind: AssessmentKind | None = None,
    code: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Assessment]:
    """Assessments, oldest first; ``partner_id`` means people now at that firm."""
    actor.require(Permission.ASSESSMENTS_READ)
    check_cursor(cursor)
    person_id = text_filter(person_id, "person_id")
    partner_id = text_filter(partner_id, "partner_id")
    code = text_filter(code, "code")
    query = select(Assessment)
    scope = actor.partner_scope
    if scope is not None and partner_id is not None and partner_id != scope:
        return Page([], None)
    firm = scope or partner_id
    if firm is not None:
        # A person's firm is read with a join: filtering page by page through the partners
        # service would mean loading every person.
        query = query.join(Person, Person.id == Assessment.person_id).where(
            Person.partner_id == firm
        )
    if person_id is not None:
        query = query.where(Assessment.person_id == person_id)
    if kind is not None:
        query = query.where(Assessment.kind == kind.value)
    if code is not None:
        query = query.where(Assessment.code == code)
    return paginate(db, query, Assessment.id, cursor=cursor, limit=limit)


def evidence_of(db: Session, person_id: str) -> list[Evidence]:
    """Everything a person did toward certifications: their assessments, as rule inputs."""
    rows = db.scalars(select(Assessment).where(Assessment.person_id == person_id))
    return [
        Evidence(
            kind=AssessmentKind(row.kind),
            code=row.code,
            passed=row.passed,
            occurred_at=row.occurred_at,
            score=row.score,
        )
        for row in rows
    ]
