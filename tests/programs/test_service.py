"""Certifications, criteria versions, assessments and evaluation, through the service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from charter.core.auth import Role
from charter.core.errors import Conflict, Forbidden, Invalid, NotFound
from charter.core.models import Event
from charter.programs import service
from charter.programs.enums import AssessmentKind, Level
from charter.programs.rules import Requirements
from charter.programs.schemas import CertificationCreate, CertificationUpdate, CriteriaCreate
from tests.codes import Track
from tests.partners.factories import partner, person
from tests.programs.factories import assessment, certification, exam_code

DAY = timedelta(days=1)


def event_types(db, subject_id: str) -> list[str]:
    return list(
        db.scalars(select(Event.type).where(Event.subject_id == subject_id).order_by(Event.seq))
    )


def criteria(narrative: str = "Pass the exam.", **requirements) -> CriteriaCreate:
    return CriteriaCreate(narrative=narrative, requirements=Requirements(**requirements))


def test_creating_a_certification_publishes_version_one_in_force_now(db, system, frozen_clock):
    cert = certification(db, system, code="CLD-201", validity_days=730, renewal_window_days=90)
    version = service.criteria_in_force(db, certification_id=cert.id, at=frozen_clock.now())
    assert (cert.code, cert.validity_days, cert.renewal_window_days) == ("CLD-201", 730, 90)
    assert version.version == 1
    assert version.effective_from == frozen_clock.now()
    assert version.requirements["assessments"] == [{"code": "EXAM-CLD-201", "min_score": 70.0}]
    assert event_types(db, cert.id) == ["certification.created"]
    assert event_types(db, version.id) == ["criteria.published"]


def test_certification_codes_are_unique(db, system):
    certification(db, system, code="CLD-201")
    with pytest.raises(Conflict, match="CLD-201"):
        certification(db, system, code="CLD-201")


def test_renewal_window_cannot_exceed_validity(db, system):
    with pytest.raises(Invalid) as caught:
        certification(db, system, validity_days=30, renewal_window_days=31)
    assert caught.value.errors[0].field == "renewal_window_days"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("validity_days", 0),
        ("renewal_window_days", 0),
        ("code", "has space"),
        ("image_url", "ftp://x"),
    ],
)
def test_bad_certification_fields_are_refused_by_the_schema(field, value):
    fields = {
        "code": "OK-1",
        "name": "Name",
        "track": "technical",
        "level": "associate",
        "validity_days": 365,
        "renewal_window_days": 30,
        "criteria": {"narrative": "x"},
        field: value,
    }
    with pytest.raises(ValidationError) as caught:
        CertificationCreate.model_validate(fields)
    assert caught.value.errors()[0]["loc"][0] == field


def test_first_criteria_cannot_start_in_the_future(db, system, frozen_clock):
    with pytest.raises(Invalid) as caught:
        certification(db, system, effective_from=frozen_clock.now() + DAY)
    assert caught.value.errors[0].field == "criteria.effective_from"


def test_prerequisites_must_name_existing_certifications(db, system):
    with pytest.raises(Invalid) as caught:
        certification(db, system, requirements={"prerequisites": ["NOPE"]})
    assert caught.value.errors[0].field == "criteria.requirements.prerequisites.0"


def test_update_changes_fields_and_logs_only_what_changed(db, system):
    cert = certification(db, system, name="Old name")
    service.update_certification(
        db,
        system,
        certification_id=cert.id,
        data=CertificationUpdate(name="New name", level=Level.EXPERT, track=Track.TECHNICAL),
    )
    assert (cert.name, cert.level) == ("New name", "expert")
    event = db.scalars(select(Event).where(Event.type == "certification.updated")).one()
    assert event.payload == {"changes": {"name": "New name", "level": "expert"}}


def test_update_checks_the_window_against_the_stored_validity(db, system):
    cert = certification(db, system, validity_days=365, renewal_window_days=60)
    with pytest.raises(Invalid) as caught:
        service.update_certification(
            db, system, certification_id=cert.id, data=CertificationUpdate(validity_days=30)
        )
    assert caught.value.errors[0].field == "validity_days"
    assert cert.validity_days == 365


def test_retire_once(db, system):
    cert = certification(db, system)
    service.retire_certification(db, system, certification_id=cert.id)
    assert cert.retired_at is not None
    with pytest.raises(Conflict):
        service.retire_certification(db, system, certification_id=cert.id)
    with pytest.raises(Conflict):
        service.publish_criteria(db, system, certification_id=cert.id, data=criteria())
    retired = service.list_certifications(db, system, retired=True).items
    assert [c.id for c in retired] == [cert.id]


def test_criteria_in_force_follows_effective_dates(db, system, frozen_clock):
    cert = certification(db, system)
    now = frozen_clock.now()
    v2 = service.publish_criteria(
        db,
        system,
        certification_id=cert.id,
        data=criteria(
            "Now with a lab.",
            assessments=[{"code": exam_code(cert), "min_score": 75}],
            labs=["LAB-1"],
        ).model_copy(update={"effective_from": now + 30 * DAY}),
    )
    assert v2.version == 2
    assert service.criteria_in_force(db, certification_id=cert.id, at=now).version == 1
    assert service.criteria_in_force(db, certification_id=cert.id, at=now + 30 * DAY).id == v2.id
    published = db.scalars(
        select(Event).where(Event.type == "criteria.published", Event.subject_id == v2.id)
    ).one()
    assert published.payload["previous_version"] == 1
    assert published.payload["certification_code"] == cert.code


def test_a_version_dated_before_the_one_in_force_is_refused(db, system, frozen_clock):
    cert = certification(db, system)
    with pytest.raises(Invalid) as caught:
        service.publish_criteria(
            db,
            system,
            certification_id=cert.id,
            data=criteria().model_copy(update={"effective_from": frozen_clock.now() - DAY}),
        )
    assert caught.value.errors[0].field == "effective_from"
    assert "version 1 (in force)" in caught.value.errors[0].detail
    assert len(service.list_criteria(db, system, certification_id=cert.id)) == 1


def test_a_version_dated_before_a_scheduled_one_is_refused(db, system, frozen_clock):
    cert = certification(db, system)
    later = frozen_clock.now() + 10 * DAY
    service.publish_criteria(
        db,
        system,
        certification_id=cert.id,
        data=criteria().model_copy(update={"effective_from": later}),
    )
    with pytest.raises(Invalid, match="scheduled"):
        service.publish_criteria(
            db,
            system,
            certification_id=cert.id,
            data=criteria().model_copy(update={"effective_from": later - DAY}),
        )


def test_partner_users_cannot_write_the_catalog(db, system, make):
    firm = partner(db, system)
    db.commit()
    member = make.login(Role.PARTNER_ADMIN, partner_id=firm.id).principal
    with pytest.raises(Forbidden):
        certification(db, member)


def test_record_assessment_and_its_event(db, system, frozen_clock):
    firm = partner(db, system)
    someone = person(db, system, partner_id=firm.id)
    recorded = assessment(
        db,
        system,
        person_id=someone.id,
        code="CLD-201",
        score=91.5,
        evidence_sha256="AB" * 32,
        external_id="lms-1",
    )
    assert recorded.evidence_sha256 == "ab" * 32
    event = db.scalars(select(Event).where(Event.subject_id == recorded.id)).one()
    assert event.type == "assessment.recorded"
    assert event.partner_id == firm.id
    assert event.payload["score"] == 91.5


def test_the_same_external_id_twice_is_a_conflict(db, system):
    someone = person(db, system, partner_id=None)
    assessment(db, system, person_id=someone.id, external_id="lms-42")
    with pytest.raises(Conflict, match="lms-42"):
        assessment(db, system, person_id=someone.id, external_id="lms-42")


def test_assessments_cannot_be_in_the_future(db, system, frozen_clock):
    someone = person(db, system, partner_id=None)
    with pytest.raises(Invalid) as caught:
        assessment(db, system, person_id=someone.id, occurred_at=frozen_clock.now() + DAY)
    assert caught.value.errors[0].field == "occurred_at"


def test_an_exam_needs_a_score_and_an_unknown_person_is_named(db, system):
    someone = person(db, system, partner_id=None)
    with pytest.raises(Invalid) as caught:
        assessment(db, system, person_id=someone.id, score=None)
    assert caught.value.errors[0].field == "score"
    with pytest.raises(Invalid) as caught:
        assessment(db, system, person_id="per_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert caught.value.errors[0].field == "person_id"


def test_partner_users_read_only_their_own_peoples_assessments(db, system, make):
    mine, theirs = partner(db, system), partner(db, system)
    colleague = person(db, system, partner_id=mine.id)
    stranger = person(db, system, partner_id=theirs.id)
    own = assessment(db, system, person_id=colleague.id)
    other = assessment(db, system, person_id=stranger.id)
    db.commit()
    member = make.login(Role.PARTNER_MEMBER, partner_id=mine.id).principal
    assert service.get_assessment(db, member, assessment_id=own.id).id == own.id
    with pytest.raises(NotFound):
        service.get_assessment(db, member, assessment_id=other.id)
    assert [a.id for a in service.list_assessments(db, member).items] == [own.id]
    assert service.list_assessments(db, member, partner_id=theirs.id).items == []
    assert [a.id for a in service.list_assessments(db, system, partner_id=theirs.id).items] == [
        other.id
    ]


def test_list_assessments_filters(db, system):
    someone = person(db, system, partner_id=None)
    exam = assessment(db, system, person_id=someone.id, code="CLD-201")
    lab = assessment(db, system, person_id=someone.id, kind=AssessmentKind.LAB, code="LAB-1")
    assert [a.id for a in service.list_assessments(db, system, kind=AssessmentKind.LAB).items] == [
        lab.id
    ]
    assert [a.id for a in service.list_assessments(db, system, code="CLD-201").items] == [exam.id]
    page = service.list_assessments(db, system, person_id=someone.id, limit=1)
    assert page.next_cursor is not None
    rest = service.list_assessments(db, system, person_id=someone.id, cursor=page.next_cursor)
    assert [a.id for a in [*page.items, *rest.items]] == [exam.id, lab.id]
