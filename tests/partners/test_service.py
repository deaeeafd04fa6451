"""Partner firms and people through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from charter.core.auth import Principal, Role
from charter.core.errors import Conflict, Forbidden, Invalid, NotFound
from charter.core.models import Event
from charter.partners import service
from charter.partners.enums import OnboardingCheck, PartnerStatus, PartnerType, Region, Track
from charter.partners.models import Employment, Partner, Person, PersonEmail
from charter.partners.schemas import PartnerCreate, PartnerUpdate, PersonCreate, PersonUpdate
from tests.partners import factories


def _partner_user(partner_id: str, role: Role = Role.PARTNER_ADMIN) -> Principal:
    return Principal.for_user(
        user_id="usr_partner", role=role, partner_id=partner_id, name="Partner User"
    )


def _vendor(role: Role = Role.PROGRAM_MANAGER) -> Principal:
    return Principal.for_user(user_id="usr_vendor", role=role, partner_id=None, name="Vendor")


def _events(db, type_: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.type == type_).order_by(Event.seq)))


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


# Firms


def test_a_new_partner_is_an_applicant_with_nothing_onboarded(db, system):
    firm = service.create_partner(
        db,
        system,
        data=PartnerCreate(
            name="  Northwind Consulting ",
            type=PartnerType.MSP,
            regions=[Region.EMEA, Region.NA, Region.EMEA],
            country="de",
            website="https://northwind.example",
            external_id="SF-0001",
        ),
    )
    db.commit()
    stored = db.get(Partner, firm.id)
    assert stored.id.startswith("prt_")
    assert stored.name == "Northwind Consulting"
    assert stored.status == "applicant"
    assert stored.country == "DE"
    assert stored.regions == ["emea", "na"]
    assert all(not entry["done"] for entry in stored.onboarding.values())
    [created] = _events(db, "partner.created")
    assert created.partner_id == firm.id
    assert created.payload["type"] == "msp"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "XX"),
        ("country", "Germany"),
        ("website", "not a url"),
        ("website", "ftp://files.example.com"),
        ("regions", []),
        ("name", "   "),
    ],
)
def test_bad_partner_input_names_the_field(field, value):
    data = {"name": "Contoso", "type": "var", "regions": ["na"], "country": "US", field: value}
    with pytest.raises(ValidationError) as caught:
        PartnerCreate(**data)
    assert [error["loc"][0] for error in caught.value.errors()] == [field]


def test_duplicate_external_id_is_a_conflict(db, system):
    factories.partner(db, system, external_id="SF-42")
    with pytest.raises(Conflict, match="SF-42"):
        factories.partner(db, system, external_id="SF-42")
    assert _count(db, Partner) == 1


def test_partner_users_cannot_register_firms(db, system):
    firm = factories.partner(db, system)
    with pytest.raises(Forbidden):
        factories.partner(db, _partner_user(firm.id))


def test_update_changes_the_profile_and_records_what_changed(db, system):
    firm = factories.partner(db, system, regions=[Region.EMEA, Region.APAC])
    service.update_partner(
        db,
        system,
        partner_id=firm.id,
        data=PartnerUpdate(name="Renamed Ltd", regions=[Region.APAC, Region.NA], website=None),
    )
    db.commit()
    db.expire_all()
    stored = db.get(Partner, firm.id)
    assert stored.name == "Renamed Ltd"
    assert stored.regions == ["apac", "na"]
    assert stored.website is None
    [updated] = _events(db, "partner.updated")
    assert set(updated.payload["changes"]) == {"name", "regions", "website"}
    assert updated.payload["changes"]["regions"] == {"from": ["apac", "emea"], "to": ["apac", "na"]}


def test_an_update_that_changes_nothing_records_nothing(db, system):
    firm = factories.partner(db, system)
    service.update_partner(db, system, partner_id=firm.id, data=PartnerUpdate(name=firm.name))
    assert _events(db, "partner.updated") == []


def test_required_profile_fields_cannot_be_cleared():
    with pytest.raises(ValidationError) as caught:
        PartnerUpdate(name=None)
    assert caught.value.errors()[0]["loc"] == ("name",)


def test_the_lifecycle_walks_with_reasons(db, system, frozen_clock):
    firm = factories.partner(db, system)
    service.change_partner_status(
        db, system, partner_id=firm.id, status=PartnerStatus.ONBOARDING, reason="application ok"
    )
    factories.complete_onboarding(db, system, firm.id)
    frozen_clock.advance(timedelta(days=3))
    service.change_partner_status(
        db, system, partner_id=firm.id, status=PartnerStatus.ACTIVE, reason="all checks passed"
    )
    db.commit()
    stored = db.get(Partner, firm.id)
    assert stored.status == "active"
    assert stored.status_reason == "all checks passed"
    assert stored.status_changed_at == frozen_clock.now()
    changes = [event.payload for event in _events(db, "partner.status_changed")]
    assert changes == [
        {"from": "applicant", "to": "onboarding", "reason": "application ok"},
        {"from": "onboarding", "to": "active", "reason": "all checks passed"},
    ]


def test_an_invalid_transition_is_refused_and_changes_nothing(db, system):
    firm = factories.partner(db, system)
    db.commit()
    with pytest.raises(Conflict) as caught:
        service.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.SUSPENDED, reason="late payment"
        )
    assert "cannot go from applicant to suspended" in caught.value.detail
    assert caught.value.extensions["allowed"] == ["onboarding", "terminated"]
    db.rollback()
    assert db.get(Partner, firm.id).status == "applicant"
    assert _events(db, "partner.status_changed") == []


def test_activation_without_onboarding_is_refused(db, system):
    firm = factories.partner(db, system, status="onboarding")
    service.set_onboarding_check(
        db, system, partner_id=firm.id, check=OnboardingCheck.IDENTITY_VERIFIED, done=True
    )
    with pytest.raises(Conflict) as caught:
        service.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.ACTIVE, reason="go"
        )
    assert "eligibility, agreement_signed, security_posture" in caught.value.detail
    assert "identity_verified" not in caught.value.detail
    assert db.get(Partner, firm.id).status == "onboarding"


def test_terminated_is_final(db, system):
    firm = factories.partner(db, system, status="terminated")
    with pytest.raises(Conflict, match="final"):
        service.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.APPLICANT, reason="again"
        )


def test_a_status_change_needs_a_reason(db, system):
    firm = factories.partner(db, system)
    with pytest.raises(Invalid) as caught:
        service.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.ONBOARDING, reason="   "
        )
    assert caught.value.errors[0].field == "reason"
    assert db.get(Partner, firm.id).status == "applicant"


def test_onboarding_checks_record_who_and_when(db, system, frozen_clock):
    firm = factories.partner(db, system)
    manager = _vendor()
    service.set_onboarding_check(
        db,
        manager,
        partner_id=firm.id,
        check=OnboardingCheck.AGREEMENT_SIGNED,
        done=True,
        note="signed 2026-02-27",
    )
    db.commit()
    db.expire_all()
    entry = db.get(Partner, firm.id).onboarding["agreement_signed"]
    assert entry["done"] is True
    assert entry["by"] == "usr_vendor"
    assert entry["note"] == "signed 2026-02-27"
    assert entry["at"].startswith("2026-03-01T12:00:00")
    [event] = _events(db, "partner.onboarding_updated")
    assert event.payload["check"] == "agreement_signed"
    assert event.payload["missing"] == ["identity_verified", "eligibility", "security_posture"]


def test_active_factory_reaches_active(db, system):
    firm = factories.partner(db, system, status="active")
    assert firm.status == "active"
    assert factories.partner(db, system, status="suspended").status == "suspended"


def test_list_partners_filters(db, system):
    emea_de = factories.partner(db, system, regions=[Region.EMEA], country="DE", name="Alpha GmbH")
    factories.partner(db, system, regions=[Region.NA], country="US", name="Beta Inc")
    both = factories.partner(
        db, system, regions=[Region.NA, Region.EMEA], country="US", type=PartnerType.MSP
    )
    active = factories.partner(db, system, status="active", regions=[Region.APAC], country="JP")

    def ids(**filters):
        return [firm.id for firm in service.list_partners(db, system, **filters).items]

    assert ids(region=Region.EMEA) == [emea_de.id, both.id]
    assert ids(country="de") == [emea_de.id]
    assert ids(type=PartnerType.MSP) == [both.id]
    assert ids(status=PartnerStatus.ACTIVE) == [active.id]
    assert ids(q="gmbh") == [emea_de.id]
    assert ids(q="%") == []
    assert ids(region=Region.NA, country="US", type=PartnerType.MSP) == [both.id]


def test_list_partners_refuses_unknown_country(db, system):
    with pytest.raises(Invalid) as caught:
        service.list_partners(db, system, country="ZZ")
    assert caught.value.errors[0].field == "country"


def test_pagination_returns_every_partner_once(db, system):
    made = {factories.partner(db, system).id for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        page = service.list_partners(db, system, cursor=cursor, limit=3)
        seen.extend(firm.id for firm in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 7
    assert set(seen) == made


# Partner scope


def test_partner_users_see_only_their_own_firm(db, system):
    mine = factories.partner(db, system)
    other = factories.partner(db, system)
    me = _partner_user(mine.id, Role.PARTNER_MEMBER)
    assert [firm.id for firm in service.list_partners(db, me).items] == [mine.id]
    assert service.get_partner(db, me, partner_id=mine.id).id == mine.id
    with pytest.raises(NotFound):
        service.get_partner(db, me, partner_id=other.id)


def test_partner_admin_edits_own_profile_but_not_others_or_status(db, system):
    mine = factories.partner(db, system)
    other = factories.partner(db, system)
    admin = _partner_user(mine.id)
    service.update_partner(
        db, admin, partner_id=mine.id, data=PartnerUpdate(website="https://mine.example.org")
    )
    assert db.get(Partner, mine.id).website == "https://mine.example.org"
    with pytest.raises(NotFound):
        service.update_partner(db, admin, partner_id=other.id, data=PartnerUpdate(name="Mine"))
    with pytest.raises(Forbidden):
        service.change_partner_status(
            db, admin, partner_id=mine.id, status=PartnerStatus.ONBOARDING, reason="please"
        )
    with pytest.raises(Forbidden):
        service.set_onboarding_check(
            db, admin, partner_id=mine.id, check=OnboardingCheck.ELIGIBILITY, done=True
        )
    assert db.get(Partner, other.id).name != "Mine"


def test_partner_member_cannot_edit(db, system):
    mine = factories.partner(db, system)
    with pytest.raises(Forbidden):
        service.update_partner(
            db,
            _partner_user(mine.id, Role.PARTNER_MEMBER),
            partner_id=mine.id,
            data=PartnerUpdate(name="X"),
        )


# People


def test_a_person_gets_addresses_and_a_job(db, system):
    firm = factories.partner(db, system)
    person = service.create_person(
        db,
        system,
        data=PersonCreate(
            given_name="Grace",
            family_name="Hopper",
            track=Track.TECHNICAL,
            partner_id=firm.id,
            emails=["Grace.Hopper@Example.com", "grace@navy.example.mil"],
        ),
    )
    db.commit()
    db.expire_all()
    stored = db.get(Person, person.id)
    assert stored.display_name == "Grace Hopper"
    assert stored.partner_id == firm.id
    assert stored.emails == ["grace.hopper@example.com", "grace@navy.example.mil"]
    assert service.primary_email(db, person_id=person.id) == "grace.hopper@example.com"
    [job] = db.scalars(select(Employment).where(Employment.person_id == person.id))
    assert job.partner_id == firm.id
    assert job.left_at is None
    assert [e.type for e in db.scalars(select(Event).where(Event.subject_id == person.id))] == [
        "person.created",
        "person.joined_partner",
    ]


def test_duplicate_email_is_a_conflict_naming_the_address(db, system):
    firm = factories.partner(db, system)
    factories.person(db, system, partner_id=firm.id, emails=["ada@example.com"])
    with pytest.raises(Conflict, match=r"ada@example\.com"):
        factories.person(
            db, system, partner_id=None, emails=["other@example.com", "ADA@example.com"]
        )
    assert _count(db, Person) == 1


def test_malformed_email_names_the_field(db, system):
    with pytest.raises(ValidationError) as caught:
        PersonCreate(
            given_name="A", family_name="B", track="sales", emails=["ok@example.com", "nope"]
        )
    assert caught.value.errors()[0]["loc"] == ("emails", 1)


def test_specialty_is_a_track(db, system):
    person = factories.person(db, system, partner_id=None, track="specialty")
    assert person.track == "specialty"


def test_emails_can_be_added_promoted_and_removed(db, system):
    firm = factories.partner(db, system)
    person = factories.person(db, system, partner_id=firm.id, emails=["first@example.com"])
    service.add_person_email(db, system, person_id=person.id, email="Second@Example.com")
    assert person.emails == ["first@example.com", "second@example.com"]
    with pytest.raises(Conflict, match="primary"):
        service.remove_person_email(db, system, person_id=person.id, email="first@example.com")
    service.add_person_email(
        db, system, person_id=person.id, email="second@example.com", primary=True
    )
    assert person.primary_email == "second@example.com"
    service.remove_person_email(db, system, person_id=person.id, email="FIRST@example.com")
    db.commit()
    db.expire_all()
    assert db.get(Person, person.id).emails == ["second@example.com"]
    assert _count(db, PersonEmail) == 1
    with pytest.raises(Conflict, match="only address"):
        service.remove_person_email(db, system, person_id=person.id, email="second@example.com")
    with pytest.raises(NotFound):
        service.remove_person_email(db, system, person_id=person.id, email="gone@example.com")
    types = [event.type for event in db.scalars(select(Event).order_by(Event.seq))]
    assert types[-3:] == ["person.email_added", "person.updated", "person.email_removed"]
    assert all(
        event.partner_id == firm.id
        for event in db.scalars(select(Event).where(Event.type.like("person.%")))
    )


def test_adding_a_new_primary_demotes_the_old_one(db, system):
    person = factories.person(db, system, partner_id=None, emails=["old@example.com"])
    service.add_person_email(db, system, person_id=person.id, email="new@example.com", primary=True)
    db.commit()
    db.expire_all()
    primaries = db.scalars(select(PersonEmail.email).where(PersonEmail.primary.is_(True))).all()
    assert primaries == ["new@example.com"]


def test_join_and_leave_keep_the_history(db, system, frozen_clock):
    first = factories.partner(db, system)
    second = factories.partner(db, system)
    person = factories.person(db, system, partner_id=first.id)
    frozen_clock.advance(timedelta(days=30))
    service.person_joins_partner(db, system, person_id=person.id, partner_id=second.id)
    frozen_clock.advance(timedelta(days=30))
    service.person_leaves_partner(db, system, person_id=person.id)
    db.commit()
    assert db.get(Person, person.id).partner_id is None
    history = service.list_employments(db, system, person_id=person.id)
    start = frozen_clock.now() - timedelta(days=60)
    assert [(job.partner_id, job.joined_at, job.left_at) for job in history] == [
        (first.id, start, start + timedelta(days=30)),
        (second.id, start + timedelta(days=30), start + timedelta(days=60)),
    ]
    moves = [
        (event.type, event.partner_id)
        for event in db.scalars(
            select(Event).where(Event.subject_id == person.id).order_by(Event.seq)
        )
    ]
    assert moves == [
        ("person.created", first.id),
        ("person.joined_partner", first.id),
        ("person.left_partner", first.id),
        ("person.joined_partner", second.id),
        ("person.left_partner", second.id),
    ]


def test_leaving_without_a_job_is_a_conflict(db, system):
    person = factories.person(db, system, partner_id=None)
    with pytest.raises(Conflict, match="does not work"):
        service.person_leaves_partner(db, system, person_id=person.id)


def test_joining_the_current_firm_again_is_a_conflict(db, system):
    firm = factories.partner(db, system)
    person = factories.person(db, system, partner_id=firm.id)
    with pytest.raises(Conflict, match="already works"):
        service.person_joins_partner(db, system, person_id=person.id, partner_id=firm.id)


def test_nobody_joins_a_terminated_firm(db, system):
    closed = factories.partner(db, system, status="terminated")
    person = factories.person(db, system, partner_id=None)
    with pytest.raises(Conflict, match="terminated"):
        service.person_joins_partner(db, system, person_id=person.id, partner_id=closed.id)
    with pytest.raises(Conflict, match="terminated"):
        factories.person(db, system, partner_id=closed.id)
    assert db.get(Person, person.id).partner_id is None
    assert _count(db, Employment) == 0


def test_partner_admin_manages_only_their_own_people(db, system):
    mine = factories.partner(db, system)
    other = factories.partner(db, system)
    admin = _partner_user(mine.id)
    colleague = factories.person(db, admin, partner_id=None)
    assert colleague.partner_id == mine.id
    stranger = factories.person(db, system, partner_id=other.id)
    with pytest.raises(NotFound):
        factories.person(db, admin, partner_id=other.id)
    with pytest.raises(NotFound):
        service.get_person(db, admin, person_id=stranger.id)
    with pytest.raises(NotFound):
        service.update_person(
            db, admin, person_id=stranger.id, data=PersonUpdate(given_name="Hacked")
        )
    with pytest.raises(NotFound):
        service.person_leaves_partner(db, admin, person_id=stranger.id)
    assert [p.id for p in service.list_people(db, admin).items] == [colleague.id]
    assert service.list_people(db, admin, partner_id=other.id).items == []
    assert service.find_person_by_email(db, admin, email=stranger.emails[0]) is None
    assert service.find_person_by_email(db, system, email=stranger.emails[0]).id == stranger.id
    service.update_person(db, admin, person_id=colleague.id, data=PersonUpdate(track="sales"))
    assert colleague.track == "sales"


def test_a_person_who_left_is_gone_for_their_old_firm(db, system):
    firm = factories.partner(db, system)
    person = factories.person(db, system, partner_id=firm.id)
    service.person_leaves_partner(db, _partner_user(firm.id), person_id=person.id)
    with pytest.raises(NotFound):
        service.get_person(db, _partner_user(firm.id, Role.PARTNER_MEMBER), person_id=person.id)


def test_list_people_filters(db, system):
    emea = factories.partner(db, system, regions=[Region.EMEA])
    apac = factories.partner(db, system, regions=[Region.APAC])
    ada = factories.person(
        db, system, partner_id=emea.id, given_name="Ada", family_name="Lovelace", track="sales"
    )
    alan = factories.person(
        db,
        system,
        partner_id=apac.id,
        given_name="Alan",
        family_name="Turing",
        emails=["enigma@bletchley.example"],
    )
    loner = factories.person(db, system, partner_id=None, given_name="Solo", family_name="Han")

    def ids(**filters):
        return [p.id for p in service.list_people(db, system, **filters).items]

    assert ids() == [ada.id, alan.id, loner.id]
    assert ids(partner_id=emea.id) == [ada.id]
    assert ids(track=Track.SALES) == [ada.id]
    assert ids(region=Region.APAC) == [alan.id]
    assert ids(q="ada love") == [ada.id]
    assert ids(q="BLETCHLEY") == [alan.id]


def test_pagination_returns_every_person_once(db, system):
    firm = factories.partner(db, system)
    made = {factories.person(db, system, partner_id=firm.id).id for _ in range(5)}
    seen: list[str] = []
    page = service.list_people(db, system, limit=2)
    seen.extend(p.id for p in page.items)
    while page.next_cursor:
        page = service.list_people(db, system, cursor=page.next_cursor, limit=2)
        seen.extend(p.id for p in page.items)
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(made)


def test_people_permissions(db, system):
    firm = factories.partner(db, system)
    member = _partner_user(firm.id, Role.PARTNER_MEMBER)
    with pytest.raises(Forbidden):
        factories.person(db, member, partner_id=firm.id)
    auditor = _vendor(Role.AUDITOR)
    person = factories.person(db, system, partner_id=firm.id)
    assert service.get_person(db, auditor, person_id=person.id).id == person.id
    with pytest.raises(Forbidden):
        service.person_leaves_partner(db, auditor, person_id=person.id)


def test_duplicate_person_external_id_is_a_conflict(db, system):
    factories.person(db, system, partner_id=None, external_id="HR-7")
    with pytest.raises(Conflict, match="HR-7"):
        factories.person(db, system, partner_id=None, external_id="HR-7")
