"""Who works where: people joining and leaving firms, with their employment history kept."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict
from charter.core.ids import new_id
from charter.partners.enums import PartnerStatus
from charter.partners.models import Employment, Partner, Person
from charter.partners.service import scoped_partner, scoped_person


def partner_to_join(db: Session, actor: Principal, partner_id: str) -> Partner:
    """The firm someone is to join: within the caller's scope, and not terminated."""
    partner = scoped_partner(db, actor, partner_id)
    if partner.status == PartnerStatus.TERMINATED:
        raise Conflict(f"partner {partner.name} is terminated; nobody can join it")
    return partner


def end_employment(db: Session, person: Person) -> events.Draft:
    """End the current employment; the event draft names the firm left."""
    old = person.partner_id
    assert old is not None
    now = clock.now()
    for employment in db.scalars(
        select(Employment).where(Employment.person_id == person.id, Employment.left_at.is_(None))
    ):
        employment.left_at = now
    person.partner_id = None
    return events.Draft(
        "person.left_partner", "person", person.id, {"partner_id": old}, partner_id=old
    )


def start_employment(
    db: Session, person: Person, partner: Partner, previous: str | None
) -> events.Draft:
    """Start ``person``'s employment at ``partner``; the event draft names both firms."""
    db.add(
        Employment(
            id=new_id("emp"),
            person_id=person.id,
            partner_id=partner.id,
            joined_at=clock.now(),
            left_at=None,
        )
    )
    person.partner_id = partner.id
    return events.Draft(
        "person.joined_partner",
        "person",
        person.id,
        {"partner_id": partner.id, "previous_partner_id": previous},
        partner_id=partner.id,
    )


def person_joins_partner(
    db: Session, actor: Principal, *, person_id: str, partner_id: str
) -> Person:
    """Start a person's employment at a firm, ending any current one first."""
    actor.require(Permission.PEOPLE_WRITE)
    person = scoped_person(db, actor, person_id, lock=True)
    partner = partner_to_join(db, actor, partner_id)
    previous = person.partner_id
    if previous == partner.id:
        raise Conflict(f"the person already works at {partner.name}")
    drafts = []
    if previous is not None:
        drafts.append(end_employment(db, person))
    drafts.append(start_employment(db, person, partner, previous))
    db.flush()
    events.append_many(db, actor, drafts)
    return person


def person_leaves_partner(db: Session, actor: Principal, *, person_id: str) -> Person:
    """End a person's employment at their current firm; their own credentials stay theirs."""
    actor.require(Permission.PEOPLE_WRITE)
    person = scoped_person(db, actor, person_id, lock=True)
    if person.partner_id is None:
        raise Conflict("the person does not work at any partner")
    draft = end_employment(db, person)
    db.flush()
    events.append_many(db, actor, [draft])
    return person


def list_employments(db: Session, actor: Principal, *, person_id: str) -> list[Employment]:
    """A person's employment history, oldest first (partner users: their firm's stints only)."""
    actor.require(Permission.PEOPLE_READ)
    person = scoped_person(db, actor, person_id)
    query = select(Employment).where(Employment.person_id == person.id)
    if actor.partner_scope is not None:
        query = query.where(Employment.partner_id == actor.partner_scope)
    return list(db.scalars(query.order_by(Employment.joined_at, Employment.id)))
