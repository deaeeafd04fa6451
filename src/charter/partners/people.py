"""People at partner firms: adding them, their profiles and their email addresses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Forbidden, Invalid, NotFound
from charter.core.ids import new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate
from charter.core.text import is_storable, normalize_email, storable_text, text_filter
from charter.crypto.dids import holder_did_problem
from charter.partners import taxonomy
from charter.partners.employment import partner_to_join, start_employment
from charter.partners.enums import TaxonomyKind
from charter.partners.models import PartnerRegion, Person, PersonEmail
from charter.partners.schemas import MAX_EMAILS, PersonCreate, PersonUpdate
from charter.partners.service import scoped_person

EXTERNAL_ID_IS_THE_PROGRAMS = (
    "external ids are the program's references (imports of assessments and awards find people "
    "by them); the program team sets them"
)


def _ensure_person_external_id_free(
    db: Session, external_id: str, *, except_id: str | None = None
) -> None:
    query = select(Person.id).where(Person.external_id == external_id)
    if except_id is not None:
        query = query.where(Person.id != except_id)
    if db.scalar(query) is not None:
        raise Conflict(f"another person already has external_id {external_id!r}")


def normalized_email(email: str, field: str) -> str:
    """``email`` as stored (lower-case, checked); :class:`Invalid` naming ``field`` if bad."""
    try:
        text = storable_text(email)
    except ValueError as error:
        raise Invalid.field(field, str(error)) from None
    return normalize_email(text, field)


BY_INVITATION = (
    "partner users add people and addresses by invitation: the address's owner confirms "
    "(POST /api/v1/people and POST /api/v1/people/{id}/emails send one)"
)


def _ensure_staff(actor: Principal) -> None:
    """Direct additions are for staff, who may see everyone and are told who holds what.

    A partner user told that an address is taken would learn that someone certified here (at
    another firm, or between jobs) owns it: they invite instead (:mod:`.invitations`).
    """
    if actor.partner_scope is not None:
        raise Forbidden(BY_INVITATION)


def _ensure_email_free(db: Session, address: str) -> None:
    """Refuse an address someone already has (people are one record each, by address).

    Only staff get here (:func:`_ensure_staff`), so they are told whose it is.
    """
    holder = db.scalar(select(PersonEmail.person_id).where(PersonEmail.email == address))
    if holder is not None:
        raise Conflict(
            f"the email address {address} already belongs to person {holder}",
            email=address,
            person_id=holder,
        )


def create_person(db: Session, actor: Principal, *, data: PersonCreate) -> Person:
    """Add a person, optionally working at a firm; the first email address is the primary.

    Staff only: partner users invite (:func:`charter.partners.invitations.add_person`).
    """
    actor.require(Permission.PEOPLE_WRITE)
    _ensure_staff(actor)
    partner_id = data.partner_id
    partner = partner_to_join(db, actor, partner_id) if partner_id is not None else None
    addresses: list[str] = []
    for index, email in enumerate(data.emails):
        address = normalized_email(email, f"emails.{index}")
        if address in addresses:
            raise Invalid.field(f"emails.{index}", f"{address} is listed twice")
        addresses.append(address)
    for address in addresses:
        _ensure_email_free(db, address)
    taxonomy.require_codes(db, TaxonomyKind.TRACK, "track", [data.track])
    if data.external_id is not None:
        _ensure_person_external_id_free(db, data.external_id)
    now = clock.now()
    person = Person(
        id=new_id("per"),
        given_name=data.given_name,
        family_name=data.family_name,
        track=data.track,
        partner_id=None,
        external_id=data.external_id,
        did=data.did,
        email_rows=[
            PersonEmail(id=new_id("pem"), email=address, primary=index == 0, created_at=now)
            for index, address in enumerate(addresses)
        ],
    )
    db.add(person)
    db.flush()
    drafts = [
        events.Draft(
            "person.created",
            "person",
            person.id,
            {
                "given_name": person.given_name,
                "family_name": person.family_name,
                "track": person.track,
                "partner_id": partner.id if partner else None,
                "emails": addresses,
                "external_id": person.external_id,
                "did": person.did,
            },
            partner_id=partner.id if partner else None,
        )
    ]
    if partner is not None:
        drafts.append(start_employment(db, person, partner, None))
    db.flush()
    events.append_many(db, actor, drafts)
    return person


def list_people(
    db: Session,
    actor: Principal,
    *,
    partner_id: str | None = None,
    track: str | None = None,
    region: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Person]:
    """People matching every filter given (``region`` is their firm's), one page at a time."""
    actor.require(Permission.PEOPLE_READ)
    check_cursor(cursor)
    taxonomy.require_known(db, TaxonomyKind.TRACK, "track", track)
    taxonomy.require_known(db, TaxonomyKind.REGION, "region", region)
    text = text_filter(q, "q")
    query = select(Person)
    if actor.partner_scope is not None:
        query = query.where(Person.partner_id == actor.partner_scope)
    if partner_id is not None:
        query = query.where(Person.partner_id == (partner_id if is_storable(partner_id) else ""))
    if track is not None:
        query = query.where(Person.track == track)
    if region is not None:
        query = query.where(
            exists().where(
                PartnerRegion.partner_id == Person.partner_id,
                PartnerRegion.region == region,
            )
        )
    if text is not None:
        full_name = Person.given_name + " " + Person.family_name
        query = query.where(
            or_(
                full_name.icontains(text, autoescape=True),
                exists().where(
                    PersonEmail.person_id == Person.id,
                    PersonEmail.email.icontains(text, autoescape=True),
                ),
            )
        )
    return paginate(db, query, Person.id, cursor=cursor, limit=limit)


def update_person(db: Session, actor: Principal, *, person_id: str, data: PersonUpdate) -> Person:
    """Change a person's name, track, external id, name visibility or DID."""
    actor.require(Permission.PEOPLE_WRITE)
    person = scoped_person(db, actor, person_id, lock=True)
    given = data.model_fields_set
    changes: dict[str, dict[str, Any]] = {}
    if "external_id" in given and data.external_id != person.external_id:
        if actor.partner_scope is not None:
            # Unique across the program, so a refusal would tell a partner user that another
            # firm's person has it; and imports attach evidence and awards by it.
            raise Invalid.field("external_id", EXTERNAL_ID_IS_THE_PROGRAMS)
        if data.external_id is not None:
            _ensure_person_external_id_free(db, data.external_id, except_id=person.id)
        changes["external_id"] = {"from": person.external_id, "to": data.external_id}
        person.external_id = data.external_id
    if "given_name" in given and data.given_name not in (None, person.given_name):
        changes["given_name"] = {"from": person.given_name, "to": data.given_name}
        person.given_name = data.given_name
    if "family_name" in given and data.family_name not in (None, person.family_name):
        changes["family_name"] = {"from": person.family_name, "to": data.family_name}
        person.family_name = data.family_name
    if "track" in given and data.track is not None and data.track != person.track:
        taxonomy.require_codes(db, TaxonomyKind.TRACK, "track", [data.track])
        changes["track"] = {"from": person.track, "to": data.track}
        person.track = data.track
    if (
        "show_name_publicly" in given
        and data.show_name_publicly is not None
        and data.show_name_publicly != person.show_name_publicly
    ):
        changes["show_name_publicly"] = {
            "from": person.show_name_publicly,
            "to": data.show_name_publicly,
        }
        person.show_name_publicly = data.show_name_publicly
    if "did" in given and data.did != person.did:
        # Credentials issued from now on name the DID; earlier ones keep what they were signed
        # with (a reissue picks it up).
        changes["did"] = {"from": person.did, "to": data.did}
        person.did = data.did
    if not changes:
        return person
    db.flush()
    events.append(
        db, actor, "person.updated", person, partner_id=person.partner_id, changes=changes
    )
    return person


def add_person_email(
    db: Session, actor: Principal, *, person_id: str, email: str, primary: bool = False
) -> PersonEmail:
    """Give a person another address; ``primary`` makes it the one written to.

    Adding an address the person already has with ``primary`` set makes it their primary one
    (partner users too); any other address is staff's to add, partner users invite
    (:func:`charter.partners.invitations.add_email`).
    """
    actor.require(Permission.PEOPLE_WRITE)
    address = normalized_email(email, "email")
    person = scoped_person(db, actor, person_id, lock=True)
    own = next((row for row in person.email_rows if row.email == address), None)
    if own is not None:
        if own.primary or not primary:
            raise Conflict(f"{address} is already an address of this person", email=address)
        previous = person.primary_email
        for row in person.email_rows:
            row.primary = row is own
        db.flush()
        events.append(
            db,
            actor,
            "person.updated",
            person,
            partner_id=person.partner_id,
            changes={"primary_email": {"from": previous, "to": address}},
        )
        return own
    _ensure_staff(actor)
    _ensure_email_free(db, address)
    if len(person.email_rows) >= MAX_EMAILS:
        raise Invalid.field("email", f"a person can have at most {MAX_EMAILS} addresses")
    row = PersonEmail(id=new_id("pem"), email=address, primary=primary, created_at=clock.now())
    if primary:
        for other in person.email_rows:
            other.primary = False
    person.email_rows.append(row)
    db.flush()
    events.append(
        db,
        actor,
        "person.email_added",
        person,
        partner_id=person.partner_id,
        email=address,
        primary=primary,
    )
    return row


def remove_person_email(db: Session, actor: Principal, *, person_id: str, email: str) -> None:
    """Remove one of a person's addresses (never the primary one, nor the last one)."""
    actor.require(Permission.PEOPLE_WRITE)
    address = normalized_email(email, "email")
    person = scoped_person(db, actor, person_id, lock=True)
    row = next((row for row in person.email_rows if row.email == address), None)
    if row is None:
        raise NotFound(f"{address} is not an address of person {person.id}")
    if len(person.email_rows) == 1:
        raise Conflict(f"{address} is the person's only address; add another one first")
    if row.primary:
        raise Conflict(
            f"{address} is the primary address; make another address primary first "
            "(add it with primary set)"
        )
    person.email_rows.remove(row)
    db.flush()
    events.append(
        db, actor, "person.email_removed", person, partner_id=person.partner_id, email=address
    )


def person_id_by_email(db: Session, address: str) -> str | None:
    """The person who has the (normalized) ``address``, if anyone (for holders' sign-in)."""
    return db.scalar(select(PersonEmail.person_id).where(PersonEmail.email == address))


def get_person_record(db: Session, person_id: str) -> Person:
    """A person by id, for services acting for that very person (holders); :class:`NotFound`."""
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound(f"person {person_id} not found")
    return person


def _own_person(db: Session, actor: Principal) -> Person:
    person_id = actor.holder_person_id
    if person_id is None:
        raise Forbidden("only a signed-in holder changes their own settings here")
    person = db.scalar(select(Person).where(Person.id == person_id).with_for_update())
    if person is None:
        raise NotFound(f"person {person_id} not found")
    return person


def set_own_did(db: Session, actor: Principal, *, did: str | None) -> Person:
    """A holder sets (or clears, with ``None`` or blank) their own DID.

    As with staff's changes, credentials issued from now on (a new award, a renewal, a
    reissue) name it as ``credentialSubject.id``; those already signed keep what they name.
    """
    person = _own_person(db, actor)
    cleaned = (did or "").strip() or None
    if cleaned is not None:
        problem = holder_did_problem(cleaned)
        if problem is not None:
            raise Invalid.field("did", problem)
    if cleaned == person.did:
        return person
    changes = {"did": {"from": person.did, "to": cleaned}}
    person.did = cleaned
    db.flush()
    events.append(
        db, actor, "person.updated", person, partner_id=person.partner_id, changes=changes
    )
    return person
