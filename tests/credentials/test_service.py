"""Awards through the service: criteria, overrides, duplicates, transitions, renewal, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from charter.core.auth import Principal, Role
from charter.core.errors import Conflict, CriteriaNotMet, Forbidden, Invalid, NotFound
from charter.core.models import Event
from charter.credentials import eligibility, service
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.credentials.schemas import AwardCreate
from charter.db.unique import insert_unique
from charter.partners import employment as partners
from charter.programs import service as programs
from charter.programs.enums import AssessmentKind
from charter.programs.rules import Requirements
from charter.programs.schemas import CriteriaCreate
from tests.codes import Region, Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import assessment, certification, exam_code

DAY = timedelta(days=1)


@pytest.fixture
def firm(db, system):
    return partner(db, system, regions=[Region.EMEA])


@pytest.fixture
def holder(db, system, firm):
    return person(db, system, partner_id=firm.id)


@pytest.fixture
def cert(db, system):
    return certification(db, system, validity_days=365, renewal_window_days=60)


def events_of(db, award_id: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.subject_id == award_id).order_by(Event.seq)))


def issue(db, actor, holder, cert, **fields):
    return service.issue_award(
        db, actor, data=AwardCreate(person_id=holder.id, certification_id=cert.id, **fields)
    )


def test_an_award_is_issued_when_the_criteria_are_met(db, system, frozen_clock, firm, holder, cert):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id, external_id="crm-9")
    version = programs.criteria_in_force(db, certification_id=cert.id, at=frozen_clock.now())
    assert issued.status == AwardStatus.ACTIVE
    assert issued.issued_at == frozen_clock.now()
    assert issued.valid_until == frozen_clock.now() + 365 * DAY
    assert issued.partner_id == firm.id
    assert issued.criteria_version_id == version.id
    assert issued.external_id == "crm-9"
    [event] = events_of(db, issued.id)
    assert event.type == "award.issued"
    assert event.partner_id == firm.id
    assert event.payload["override"] is False


def test_unmet_criteria_are_refused_with_the_reasons(db, system, holder, cert):
    assessment(db, system, person_id=holder.id, code=exam_code(cert), score=62, passed=False)
    with pytest.raises(CriteriaNotMet) as caught:
        issue(db, system, holder, cert)
    assert caught.value.unmet == [f"exam {exam_code(cert)}: best score 62 < 70"]
    assert service.list_awards(db, system, person_id=holder.id).items == []


def test_an_admin_may_override_with_a_reason(db, system, make, holder, cert):
    db.commit()
    admin = make.login(Role.ADMIN).principal
    issued = issue(db, admin, holder, cert, override_reason="  Beta programme graduate  ")
    assert issued.override_reason == "Beta programme graduate"
    [event] = events_of(db, issued.id)
    assert event.payload["override"] is True
    assert event.payload["unmet_overridden"] == [f"exam {exam_code(cert)} not taken"]


def test_a_program_manager_may_not_override(db, system, make, holder, cert):
    db.commit()
    manager = make.login(Role.PROGRAM_MANAGER).principal
    with pytest.raises(Forbidden):
        issue(db, manager, holder, cert, override_reason="I say so")
    with pytest.raises(CriteriaNotMet):
        issue(db, manager, holder, cert)


def test_an_override_needs_a_non_blank_reason(db, system, holder, cert):
    with pytest.raises(Invalid) as caught:
        issue(db, system, holder, cert, override_reason="   ")
    assert caught.value.errors[0].field == "override_reason"


def test_prerequisites_count_only_active_awards(db, system, holder):
    base = certification(db, system, code="CLD-ASSOC-T")
    advanced = certification(db, system, requirements={"prerequisites": ["CLD-ASSOC-T"]})
    with pytest.raises(CriteriaNotMet) as caught:
        award(db, system, person_id=holder.id, certification_id=advanced.id)
    assert caught.value.unmet == ["prerequisite CLD-ASSOC-T not held"]
    held = award(db, system, person_id=holder.id, certification_id=base.id)
    assert award(db, system, person_id=holder.id, certification_id=advanced.id, evidence=False)
    service.suspend_award(db, system, award_id=held.id, reason="investigation")
    result = eligibility.evaluate_criteria(
        db, person_id=holder.id, certification_id=advanced.id, at=held.issued_at
    )
    assert result.unmet == ["prerequisite CLD-ASSOC-T not held"]


def test_duplicates_are_refused_while_active_or_suspended(db, system, holder, cert):
    first = award(db, system, person_id=holder.id, certification_id=cert.id)
    with pytest.raises(Conflict, match=first.id):
        issue(db, system, holder, cert)
    service.suspend_award(db, system, award_id=first.id, reason="audit")
    with pytest.raises(Conflict, match="suspended"):
        issue(db, system, holder, cert)
    service.revoke_award(db, system, award_id=first.id, reason="fraud")
    again = issue(db, system, holder, cert)
    assert again.id != first.id


def test_the_database_refuses_a_second_live_award_too(db, system, holder, cert):
    first = award(db, system, person_id=holder.id, certification_id=cert.id)
    twin = Award(
        id="awd_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        certification_id=cert.id,
        criteria_version_id=first.criteria_version_id,
        person_id=holder.id,
        status="active",
        issued_at=first.issued_at,
        valid_until=first.valid_until,
    )
    with pytest.raises(Conflict):
        insert_unique(db, twin, "duplicate")
    assert service.get_award(db, system, award_id=first.id).status == "active"


def test_external_ids_are_unique(db, system, holder, cert):
    award(db, system, person_id=holder.id, certification_id=cert.id, external_id="crm-1")
    other = certification(db, system)
    with pytest.raises(Conflict, match="crm-1"):
        award(db, system, person_id=holder.id, certification_id=other.id, external_id="crm-1")


def test_retired_certifications_are_not_awarded(db, system, holder, cert):
    programs.retire_certification(db, system, certification_id=cert.id)
    with pytest.raises(Conflict, match="retired"):
        award(db, system, person_id=holder.id, certification_id=cert.id)


def test_revoke_needs_a_reason_and_is_final(db, system, holder, cert):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    with pytest.raises(Invalid):
        service.revoke_award(db, system, award_id=issued.id, reason="  ")
    service.revoke_award(db, system, award_id=issued.id, reason="exam fraud")
    assert (issued.status, issued.status_reason) == ("revoked", "exam fraud")
    for change in (
        lambda: service.revoke_award(db, system, award_id=issued.id, reason="again"),
        lambda: service.suspend_award(db, system, award_id=issued.id, reason="x"),
        lambda: service.reinstate_award(db, system, award_id=issued.id),
        lambda: service.renew_award(db, system, award_id=issued.id),
    ):
        with pytest.raises(Conflict):
            change()
    assert [e.type for e in events_of(db, issued.id)] == ["award.issued", "award.revoked"]


def test_suspend_and_reinstate(db, system, firm, holder, cert):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    with pytest.raises(Conflict, match="only a suspended"):
        service.reinstate_award(db, system, award_id=issued.id)
    service.suspend_award(db, system, award_id=issued.id, reason="under review")
    assert issued.status == "suspended"
    with pytest.raises(Conflict, match="only an active"):
        service.suspend_award(db, system, award_id=issued.id, reason="twice")
    service.reinstate_award(db, system, award_id=issued.id, reason="cleared")
    assert (issued.status, issued.status_reason) == ("active", "cleared")
    suspended, reinstated = events_of(db, issued.id)[1:]
    assert (suspended.type, suspended.payload["reason"]) == ("award.suspended", "under review")
    assert (reinstated.type, reinstated.partner_id) == ("award.reinstated", firm.id)


def test_a_suspended_award_that_expires_cannot_be_reinstated(
    db, system, frozen_clock, holder, cert
):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    service.suspend_award(db, system, award_id=issued.id, reason="review")
    frozen_clock.advance(366 * DAY)
    with pytest.raises(Conflict, match="expired"):
        service.reinstate_award(db, system, award_id=issued.id)
    service.revoke_award(db, system, award_id=issued.id, reason="revoking an expired award is fine")
    assert issued.status == "revoked"


def test_governance_owner_revokes_but_cannot_issue(db, system, make, holder, cert):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    db.commit()
    owner = make.login(Role.GOVERNANCE_OWNER).principal
    service.suspend_award(db, owner, award_id=issued.id, reason="policy")
    other = certification(db, system)
    with pytest.raises(Forbidden):
        award(db, owner, person_id=holder.id, certification_id=other.id)


def test_renewal_window_edges(db, system, frozen_clock, holder, cert):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    until = issued.valid_until
    frozen_clock.set(until - 60 * DAY - timedelta(seconds=1))
    with pytest.raises(Conflict, match="renewal opens on"):
        service.renew_award(db, system, award_id=issued.id)
    frozen_clock.set(until - 60 * DAY)
    renewed = service.renew_award(db, system, award_id=issued.id)
    assert renewed.valid_until == until + 365 * DAY
    assert (renewed.renewal_count, renewed.renewed_at) == (1, until - 60 * DAY)
    [event] = [e for e in events_of(db, issued.id) if e.type == "award.renewed"]
    assert event.payload["previous_valid_until"] == until.isoformat().replace("+00:00", "Z")


def test_renewal_is_refused_after_expiry(db, system, frozen_clock, holder, cert):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    frozen_clock.set(issued.valid_until)
    with pytest.raises(Conflict, match="expired"):
        service.renew_award(db, system, award_id=issued.id)


def test_renewal_is_judged_against_the_criteria_in_force_then(
    db, system, frozen_clock, holder, cert
):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    v2 = programs.publish_criteria(
        db,
        system,
        certification_id=cert.id,
        data=CriteriaCreate(
            narrative="Exam and lab.",
            requirements=Requirements.model_validate(
                {"assessments": [{"code": exam_code(cert), "min_score": 70}], "labs": ["LAB-9"]}
            ),
            effective_from=frozen_clock.now() + 100 * DAY,
        ),
    )
    frozen_clock.set(issued.valid_until - 10 * DAY)
    with pytest.raises(CriteriaNotMet) as caught:
        service.renew_award(db, system, award_id=issued.id)
    assert caught.value.unmet == ["lab LAB-9 not passed"]
    manager = Principal.for_user(
        user_id="usr_x", role=Role.PROGRAM_MANAGER, partner_id=None, name="PM"
    )
    with pytest.raises(Forbidden):
        service.renew_award(db, manager, award_id=issued.id, override_reason="x")
    assessment(db, system, person_id=holder.id, kind=AssessmentKind.LAB, code="LAB-9", score=None)
    renewed = service.renew_award(db, system, award_id=issued.id)
    assert renewed.criteria_version_id == v2.id


def test_an_admin_may_renew_with_an_override(db, system, frozen_clock, holder, cert):
    issued = award(
        db,
        system,
        person_id=holder.id,
        certification_id=cert.id,
        evidence=False,
        override_reason="pilot",
    )
    frozen_clock.set(issued.valid_until - DAY)
    renewed = service.renew_award(db, system, award_id=issued.id, override_reason="still pilot")
    assert renewed.override_reason == "still pilot"
    assert renewed.renewal_count == 1


def test_an_award_past_valid_until_is_expired_before_the_sweep(
    db, system, frozen_clock, holder, cert
):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    frozen_clock.set(issued.valid_until)
    assert service.effective_status_of(service.get_award(db, system, award_id=issued.id)) == (
        AwardStatus.EXPIRED
    )
    assert service.list_awards(db, system, status=AwardStatus.ACTIVE).items == []
    assert [a["id"] for a in service.list_awards(db, system, status=AwardStatus.EXPIRED).items] == [
        issued.id
    ]
    assert (
        eligibility.held_certification_codes(db, person_id=holder.id, at=frozen_clock.now())
        == set()
    )


def test_expire_due_awards_flips_them_once(db, system, frozen_clock, firm, holder, cert):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    later = award(
        db,
        system,
        person_id=holder.id,
        certification_id=certification(db, system, validity_days=400).id,
    )
    assert service.expire_due_awards(db, system) == 0
    frozen_clock.set(issued.valid_until + DAY)
    assert service.expire_due_awards(db, system) == 1
    assert service.expire_due_awards(db, system) == 0
    assert (issued.status, later.status) == ("expired", "active")
    expired = events_of(db, issued.id)[-1]
    assert (expired.type, expired.partner_id) == ("award.expired", firm.id)


def test_re_earning_after_expiry_expires_the_stale_award_first(
    db, system, frozen_clock, holder, cert
):
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    frozen_clock.set(issued.valid_until + DAY)
    again = award(db, system, person_id=holder.id, certification_id=cert.id)
    assert issued.status == "expired"
    assert again.status == "active"
    assert [e.type for e in events_of(db, issued.id)] == ["award.issued", "award.expired"]


def test_filters(db, system, frozen_clock):
    emea = partner(db, system, regions=[Region.EMEA])
    apac = partner(db, system, regions=[Region.APAC])
    ada, bob = person(db, system, partner_id=emea.id), person(db, system, partner_id=apac.id)
    tech = certification(db, system, validity_days=100, renewal_window_days=10)
    sales = certification(db, system, track=Track.SALES, validity_days=300)
    a1 = award(db, system, person_id=ada.id, certification_id=tech.id)
    a2 = award(db, system, person_id=bob.id, certification_id=sales.id)

    def ids(**filters):
        return [a["id"] for a in service.list_awards(db, system, **filters).items]

    now = frozen_clock.now()
    assert ids(region=Region.EMEA) == [a1.id]
    assert ids(region=Region.APAC) == [a2.id]
    assert ids(region=Region.NA) == []
    assert ids(track=Track.SALES) == [a2.id]
    assert ids(partner_id=apac.id) == [a2.id]
    assert ids(person_id=ada.id) == [a1.id]
    assert ids(certification_id=tech.id) == [a1.id]
    assert ids(expiring_before=now + 101 * DAY) == [a1.id]
    assert ids(expiring_before=now + 100 * DAY) == []
    assert ids(expiring_before=now + 400 * DAY, status=AwardStatus.ACTIVE) == [a1.id, a2.id]


def test_moving_firm_moves_visibility_and_region(db, system, make, firm, holder, cert):
    other = partner(db, system, regions=[Region.NA])
    issued = award(db, system, person_id=holder.id, certification_id=cert.id)
    partners.person_joins_partner(db, system, person_id=holder.id, partner_id=other.id)
    db.commit()
    old_firm = make.login(Role.PARTNER_MEMBER, partner_id=firm.id).principal
    new_firm = make.login(Role.PARTNER_MEMBER, partner_id=other.id).principal
    # Earned at the old firm: both see it; the new firm because the holder works there now.
    assert service.get_award(db, old_firm, award_id=issued.id).id == issued.id
    assert service.get_award(db, new_firm, award_id=issued.id).id == issued.id
    assert [a["id"] for a in service.list_awards(db, system, region=Region.NA).items] == [issued.id]


def test_partner_users_see_only_their_firms_awards(db, system, make, firm, holder, cert):
    stranger_firm = partner(db, system)
    stranger = person(db, system, partner_id=stranger_firm.id)
    mine = award(db, system, person_id=holder.id, certification_id=cert.id)
    theirs = award(db, system, person_id=stranger.id, certification_id=cert.id)
    db.commit()
    member = make.login(Role.PARTNER_MEMBER, partner_id=firm.id).principal
    assert [a["id"] for a in service.list_awards(db, member).items] == [mine.id]
    assert service.list_awards(db, member, partner_id=stranger_firm.id).items == []
    with pytest.raises(NotFound):
        service.get_award(db, member, award_id=theirs.id)
    with pytest.raises(Forbidden):
        service.revoke_award(db, member, award_id=mine.id, reason="nope")
