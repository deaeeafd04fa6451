"""People at partner firms: addresses, profiles, listing and who may see and edit them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from charter.core.auth import Principal, Role
from charter.core.errors import Conflict, Forbidden, NotFound
from charter.core.models import Event
from charter.partners import employment, people, service
from charter.partners.models import Employment, Person, PersonEmail
from charter.partners.schemas import PersonCreate, PersonUpdate
from tests.codes import Region, Track
from tests.partners import factories


def _partner_user(partner_id: str, role: Role = Role.PARTNER_ADMIN) -> Principal:
    return Principal.for_user(
        user_id="usr_partner", role=role, partner_id=partner_id, name="Partner User"
    )


def _vendor(role: Role = Role.PROGRAM_MANAGER) -> Principal:
    return Principal.for_user(user_id="usr_vendor", role=role, partner_id=None, name="Vendor")


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_a_person_gets_addresses_and_a_job(db, system):
    firm = factories.partner(db, system)
    person = people.create_person(
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
    assert stored.primary_email == "grace.hopper@example.com"
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
    people.add_person_email(db, system, person_id=person.id, email="Second@Example.com")
    assert person.emails == ["first@example.com", "second@example.com"]
    with pytest.raises(Conflict, match="primary"):
        people.remove_person_email(db, system, person_id=person.id, email="first@example.com")
    people.add_person_email(
        db, system, person_id=person.id, email="second@example.com", primary=True
    )
    assert person.primary_email == "second@example.com"
    people.remove_person_email(db, system, person_id=person.id, email="FIRST@example.com")
    db.commit()
    db.expire_all()
    assert db.get(Person, person.id).emails == ["second@example.com"]
    assert _count(db, PersonEmail) == 1
    with pytest.raises(Conflict, match="only address"):
        people.remove_person_email(db, system, person_id=person.id, email="second@example.com")
    with pytest.raises(NotFound):
        people.remove_person_email(db, system, person_id=person.id, email="gone@example.com")
    types = [event.type for event in db.scalars(select(Event).order_by(Event.seq))]
    assert types[-3:] == ["person.email_added", "person.updated", "person.email_removed"]
    assert all(
        event.partner_id == firm.id
        for event in db.scalars(select(Event).where(Event.type.like("person.%")))
    )


def test_adding_a_new_primary_demotes_the_old_one(db, system):
    person = factories.person(db, system, partner_id=None, emails=["old@example.com"])
    people.add_person_email(db, system, person_id=person.id, email="new@example.com", primary=True)
    db.commit()
    db.expire_all()
    primaries = db.scalars(select(PersonEmail.email).where(PersonEmail.primary.is_(True))).all()
    assert primaries == ["new@example.com"]


def test_partner_admin_manages_only_their_own_people(db, system):
    mine = factories.partner(db, system)
    other = factories.partner(db, system)
    admin = _partner_user(mine.id)
    colleague = factories.person(db, system, partner_id=mine.id)
    stranger = factories.person(db, system, partner_id=other.id)
    # Partner users invite (test_invitations.py); adding directly is staff's.
    with pytest.raises(Forbidden):
        factories.person(db, admin, partner_id=None)
    with pytest.raises(Forbidden):
        people.add_person_email(db, admin, person_id=colleague.id, email="new@example.com")
    with pytest.raises(NotFound):
        service.get_person(db, admin, person_id=stranger.id)
    with pytest.raises(NotFound):
        people.update_person(
            db, admin, person_id=stranger.id, data=PersonUpdate(given_name="Hacked")
        )
    with pytest.raises(NotFound):
        employment.person_leaves_partner(db, admin, person_id=stranger.id)
    assert [p.id for p in people.list_people(db, admin).items] == [colleague.id]
    assert people.list_people(db, admin, partner_id=other.id).items == []
    assert people.list_people(db, admin, q=stranger.emails[0]).items == []
    assert [p.id for p in people.list_people(db, system, q=stranger.emails[0]).items] == [
        stranger.id
    ]
    people.update_person(db, admin, person_id=colleague.id, data=PersonUpdate(track="sales"))
    assert colleague.track == "sales"


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
        return [p.id for p in people.list_people(db, system, **filters).items]

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
    page = people.list_people(db, system, limit=2)
    seen.extend(p.id for p in page.items)
    while page.next_cursor:
        page = people.list_people(db, system, cursor=page.next_cursor, limit=2)
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
        employment.person_leaves_partner(db, auditor, person_id=person.id)


def test_duplicate_person_external_id_is_a_conflict(db, system):
    factories.person(db, system, partner_id=None, external_id="HR-7")
    with pytest.raises(Conflict, match="HR-7"):
        factories.person(db, system, partner_id=None, external_id="HR-7")
