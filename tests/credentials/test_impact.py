"""Who a criteria version affects: live holders judged against it, within the reader's firm."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.core import clock
from charter.core.auth import Principal, Role
from charter.core.errors import NotFound
from charter.credentials import impact, service
from charter.programs import service as programs
from charter.programs.enums import AssessmentKind
from charter.programs.rules import Requirements
from charter.programs.schemas import CriteriaCreate
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import assessment, certification


def test_holders_are_judged_against_a_new_version_within_the_readers_firm(db, system):
    cert = certification(db, system)
    harbor, quill = partner(db, system), partner(db, system)
    ready = person(db, system, partner_id=harbor.id)
    short = person(db, system, partner_id=harbor.id)
    elsewhere = person(db, system, partner_id=quill.id)
    gone = person(db, system, partner_id=harbor.id)
    for someone in (ready, short, elsewhere, gone):
        award(db, system, person_id=someone.id, certification_id=cert.id)
    revoked = service.list_awards(db, system, person_id=gone.id).items[0]["id"]
    service.revoke_award(db, system, award_id=revoked, reason="withdrawn")
    assessment(db, system, person_id=ready.id, kind=AssessmentKind.LAB, code="LAB-NEW", score=None)
    version = programs.publish_criteria(
        db,
        system,
        certification_id=cert.id,
        data=CriteriaCreate(
            narrative="Also the lab.",
            requirements=Requirements.model_validate({"labs": ["LAB-NEW"]}),
            effective_from=clock.now() + timedelta(days=30),
        ),
    )
    judged = impact.criteria_impact(
        db, system, certification_id=cert.id, criteria_version_id=version.id
    )
    assert judged.version == 2
    assert judged.judged_at == clock.ensure_utc(version.effective_from)
    by_person = {holder.person_id: holder for holder in judged.holders}
    assert set(by_person) == {ready.id, short.id, elsewhere.id}  # not the revoked award
    assert by_person[ready.id].meets
    assert by_person[short.id].unmet == ["lab LAB-NEW not passed"]
    assert ready.id not in {holder.person_id for holder in judged.falling_short}

    reader = Principal.for_user(
        user_id="usr_1", role=Role.PARTNER_MEMBER, partner_id=harbor.id, name="Reader"
    )
    scoped = impact.criteria_impact(
        db, reader, certification_id=cert.id, criteria_version_id=version.id
    )
    assert {holder.person_id for holder in scoped.holders} == {ready.id, short.id}
    with pytest.raises(NotFound):
        impact.criteria_impact(
            db,
            system,
            certification_id=cert.id,
            criteria_version_id="crv_01JAAAAAAAAAAAAAAAAAAAAAAA",
        )
