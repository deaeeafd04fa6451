"""Eligibility: evidence and held certifications judged against the criteria in force."""

from __future__ import annotations

from datetime import timedelta

from charter.core.auth import Role
from charter.credentials import eligibility
from charter.programs import service as programs
from charter.programs.rules import Requirements
from charter.programs.schemas import CriteriaCreate
from tests.partners.factories import partner, person
from tests.programs.factories import assessment, certification, exam_code

DAY = timedelta(days=1)


def criteria(narrative: str = "Pass the exam.", **requirements) -> CriteriaCreate:
    return CriteriaCreate(narrative=narrative, requirements=Requirements(**requirements))


def test_evaluation_uses_the_version_in_force_at_the_time(db, system, frozen_clock):
    cert = certification(db, system)
    someone = person(db, system, partner_id=None)
    assessment(db, system, person_id=someone.id, code=exam_code(cert), score=72)
    now = frozen_clock.now()
    programs.publish_criteria(
        db,
        system,
        certification_id=cert.id,
        data=criteria(assessments=[{"code": exam_code(cert), "min_score": 80}]).model_copy(
            update={"effective_from": now + 7 * DAY}
        ),
    )
    today = eligibility.evaluate_criteria(
        db, person_id=someone.id, certification_id=cert.id, at=now
    )
    later = eligibility.evaluate_criteria(
        db, person_id=someone.id, certification_id=cert.id, at=now + 7 * DAY
    )
    assert (today.met, today.criteria_version) == (True, 1)
    assert (later.met, later.criteria_version) == (False, 2)
    assert later.unmet == [f"exam {exam_code(cert)}: best score 72 < 80"]


def test_eligibility_lists_what_is_missing(client, make, db, system):
    cert = certification(db, system)
    firm = partner(db, system)
    someone = person(db, system, partner_id=firm.id)
    db.commit()
    admin = make.login(Role.ADMIN).headers
    url = f"/api/v1/people/{someone.id}/eligibility?certification_id={cert.id}"
    before = client.get(url, headers=admin).json()
    assert (before["met"], before["unmet"]) == (False, [f"exam {exam_code(cert)} not taken"])
    assessment(db, system, person_id=someone.id, code=exam_code(cert), score=70)
    db.commit()
    after = client.get(url, headers=admin).json()
    assert (after["met"], after["unmet"], after["criteria_version"]) == (True, [], 1)
    elsewhere = partner(db, system)
    db.commit()
    outsider = make.login(Role.PARTNER_MEMBER, partner_id=elsewhere.id).headers
    assert client.get(url, headers=outsider).status_code == 404
