"""Operations on partner firms and their people: profiles, lifecycle, onboarding, employment.

Every function checks the caller's permission and partner scope, changes state, appends its
event and flushes; the caller owns the transaction. Partner users see their own firm and its
current people only: anything else is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Forbidden, Invalid, NotFound
from charter.core.ids import new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate
from charter.core.text import is_storable, normalize_email, storable_text, text_filter
from charter.partners import rules
from charter.partners.models import (
    Employment,
    OnboardingCheck,
    Partner,
    PartnerRegion,
    PartnerStatus,
    PartnerType,
    Person,
    PersonEmail,
    Region,
    Track,
)
from charter.partners.schemas import (
    MAX_EMAILS,
    PartnerCreate,
    PartnerUpdate,
    PersonCreate,
    PersonUpdate,
    country_code,
)


def _actor_label(actor: Principal) -> str:
    return actor.user_id or actor.id or f"{actor.kind}:{actor.name}"


def _partner_row(db: Session, partner_id: str, *, lock: bool = False) -> Partner | None:
    if not is_storable(partner_id):
        return None
    query = select(Partner).where(Partner.id == partner_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalars(query).one_or_none()


def _person_row(db: Session, person_id: str, *, lock: bool = False) -> Person | None:
    if not is_storable(person_id):
        return None
    query = select(Person).where(Person.id == person_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalars(query).one_or_none()


def _scoped_partner(
    db: Session, actor: Principal, partner_id: str, *, lock: bool = False
) -> Partner:
    if actor.partner_scope is not None and partner_id != actor.partner_scope:
        raise NotFound(f"partner {partner_id} not found")
    partner = _partner_row(db, partner_id, lock=lock)
    if partner is None:
        raise NotFound(f"partner {partner_id} not found")
    return partner


def _scoped_person(db: Session, actor: Principal, person_id: str, *, lock: bool = False) -> Person:
    person = _person_row(db, person_id, lock=lock)
    if person is None or (
        actor.partner_scope is not None and person.partner_id != actor.partner_scope
    ):
        raise NotFound(f"person {person_id} not found")
    return person


def _ensure_partner_external_id_free(
    db: Session, external_id: str, *, except_id: str | None = None
) -> None:
    query = select(Partner.id).where(Partner.external_id == external_id)
    if except_id is not None:
        query = query.where(Partner.id != except_id)
    if db.scalar(query) is not None:
        raise Conflict(f"another partner already has external_id {external_id!r}")


def _ensure_person_external_id_free(
    db: Session, external_id: str, *, except_id: str | None = None
) -> None:
    query = select(Person.id).where(Person.external_id == external_id)
    if except_id is not None:
        query = query.where(Person.id != except_id)
    if db.scalar(query) is not None:
        raise Conflict(f"another person already has external_id {external_id!r}")


# Partners


def create_partner(db: Session, actor: Principal, *, data: PartnerCreate) -> Partner:
    """Register a partner firm; it starts as an applicant with no onboarding check done."""
    actor.require(Permission.PARTNERS_WRITE)
    if actor.partner_scope is not None:
        raise Forbidden("partner users cannot register partner firms")
    if data.external_id is not None:
        _ensure_partner_external_id_free(db, data.external_id)
    now = clock.now()
    partner = Partner(
        id=new_id("prt"),
        name=data.name,
        type=data.type.value,
        status=rules.INITIAL_STATUS.value,
        country=data.country,
        website=data.website,
        external_id=data.external_id,
        status_changed_at=now,
        onboarding=rules.empty_onboarding(),
        region_rows=[PartnerRegion(region=region.value) for region in data.regions],
    )
    db.add(partner)
    db.flush()
    # A draft rather than append(): the payload has a "type" key, which append() takes itself.
    created = events.Draft(
        "partner.created",
        "partner",
        partner.id,
        {
            "name": partner.name,
            "type": partner.type,
            "status": partner.status,
            "regions": partner.regions,
            "country": partner.country,
            "website": partner.website,
            "external_id": partner.external_id,
        },
        partner_id=partner.id,
    )
    events.append_many(db, actor, [created])
    return partner


def get_partner(db: Session, actor: Principal, *, partner_id: str) -> Partner:
    """A partner firm; :class:`NotFound` if unknown or outside the caller's scope."""
    actor.require(Permission.PARTNERS_READ)
    return _scoped_partner(db, actor, partner_id)


def _partners_query(
    actor: Principal,
    *,
    status: PartnerStatus | None,
    type: PartnerType | None,
    region: Region | None,
    country: str | None,
    q: str | None,
) -> Select[Any]:
    query = select(Partner)
    if actor.partner_scope is not None:
        query = query.where(Partner.id == actor.partner_scope)
    if status is not None:
        query = query.where(Partner.status == PartnerStatus(status).value)
    if type is not None:
        query = query.where(Partner.type == PartnerType(type).value)
    if region is not None:
        query = query.where(
            exists().where(
                PartnerRegion.partner_id == Partner.id,
                PartnerRegion.region == Region(region).value,
            )
        )
    if country is not None:
        try:
            code = country_code(country)
        except ValueError as error:
            raise Invalid.field("country", str(error)) from None
        query = query.where(Partner.country == code)
    if q is not None:
        query = query.where(Partner.name.icontains(q, autoescape=True))
    return query


def list_partners(
    db: Session,
    actor: Principal,
    *,
    status: PartnerStatus | None = None,
    type: PartnerType | None = None,
    region: Region | None = None,
    country: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Partner]:
    """Partner firms matching every filter given, by id (creation order), one page at a time."""
    actor.require(Permission.PARTNERS_READ)
    check_cursor(cursor)
    query = _partners_query(
        actor,
        status=status,
        type=type,
        region=region,
        country=text_filter(country, "country"),
        q=text_filter(q, "q"),
    )
    return paginate(db, query, Partner.id, cursor=cursor, limit=limit)


def update_partner(
    db: Session, actor: Principal, *, partner_id: str, data: PartnerUpdate
) -> Partner:
    """Change a firm's profile (not its status or onboarding, which have their own calls)."""
    actor.require(Permission.PARTNERS_WRITE)
    partner = _scoped_partner(db, actor, partner_id, lock=True)
    given = data.model_fields_set
    changes: dict[str, dict[str, Any]] = {}

    def change(field: str, old: Any, new: Any) -> None:
        if old != new:
            changes[field] = {"from": old, "to": new}

    if "external_id" in given and data.external_id != partner.external_id:
        if data.external_id is not None:
            _ensure_partner_external_id_free(db, data.external_id, except_id=partner.id)
        change("external_id", partner.external_id, data.external_id)
        partner.external_id = data.external_id
    if "name" in given and data.name is not None:
        change("name", partner.name, data.name)
        partner.name = data.name
    if "type" in given and data.type is not None:
        change("type", partner.type, data.type.value)
        partner.type = data.type.value
    if "country" in given and data.country is not None:
        change("country", partner.country, data.country)
        partner.country = data.country
    if "website" in given:
        change("website", partner.website, data.website)
        partner.website = data.website
    if "regions" in given and data.regions is not None:
        wanted = {region.value for region in data.regions}
        before = partner.regions
        # Only add and remove the difference: re-inserting a kept region would clash on its key.
        for row in list(partner.region_rows):
            if row.region not in wanted:
                partner.region_rows.remove(row)
        for region in sorted(wanted - set(before)):
            partner.region_rows.append(PartnerRegion(region=region))
        change("regions", sorted(before), sorted(wanted))
    if not changes:
        return partner
    db.flush()
    events.append(db, actor, "partner.updated", partner, partner_id=partner.id, changes=changes)
    return partner


def change_partner_status(
    db: Session, actor: Principal, *, partner_id: str, status: PartnerStatus, reason: str
) -> Partner:
    """Move a firm along its lifecycle; only the allowed transitions, each with a reason.

    This records the status alone: terminating a firm also winds up its tiers and access, which
    :mod:`charter.tiers.flows` does around this call.
    """
    actor.require(Permission.PARTNERS_LIFECYCLE)
    try:
        why = storable_text(reason, multiline=True)
    except ValueError as error:
        raise Invalid.field("reason", str(error)) from None
    if not why:
        raise Invalid.field("reason", "say why the status changes")
    target = PartnerStatus(status)
    partner = _scoped_partner(db, actor, partner_id, lock=True)
    current = PartnerStatus(partner.status)
    refusal = rules.transition_refusal(current, target, partner.onboarding)
    if refusal is not None:
        allowed = [option.value for option in rules.allowed_transitions(current)]
        raise Conflict(refusal, status=current.value, allowed=allowed)
    partner.status = target.value
    partner.status_reason = why
    partner.status_changed_at = clock.now()
    db.flush()
    events.append(
        db,
        actor,
        "partner.status_changed",
        partner,
        partner_id=partner.id,
        **{"from": current.value, "to": target.value, "reason": why},
    )
    return partner


def set_onboarding_check(
    db: Session,
    actor: Principal,
    *,
    partner_id: str,
    check: OnboardingCheck,
    done: bool,
    note: str | None = None,
) -> Partner:
    """Record one onboarding check as done or not done, with who, when and an optional note."""
    actor.require(Permission.PARTNERS_LIFECYCLE)
    check = OnboardingCheck(check)
    if note is not None:
        try:
            note = storable_text(note, multiline=True) or None
        except ValueError as error:
            raise Invalid.field("note", str(error)) from None
    partner = _scoped_partner(db, actor, partner_id, lock=True)
    if partner.status == PartnerStatus.TERMINATED:
        raise Conflict("the partner is terminated; its onboarding can no longer change")
    record = dict(partner.onboarding or rules.empty_onboarding())
    record[check.value] = rules.onboarding_entry(
        done=done, at=clock.now(), by=_actor_label(actor), note=note
    )
    # A new dict, so that the JSON column is seen as changed.
    partner.onboarding = record
    db.flush()
    events.append(
        db,
        actor,
        "partner.onboarding_updated",
        partner,
        partner_id=partner.id,
        check=check.value,
        done=done,
        note=note,
        missing=[item.value for item in rules.missing_onboarding_checks(record)],
    )
    return partner


# People


def _normalized(email: str, field: str) -> str:
    try:
        text = storable_text(email)
    except ValueError as error:
        raise Invalid.field(field, str(error)) from None
    return normalize_email(text, field)


def _ensure_email_free(db: Session, address: str) -> None:
    if db.scalar(select(PersonEmail.id).where(PersonEmail.email == address)) is not None:
        raise Conflict(f"the email address {address} already belongs to a person", email=address)


def _partner_to_join(db: Session, actor: Principal, partner_id: str) -> Partner:
    partner = _scoped_partner(db, actor, partner_id)
    if partner.status == PartnerStatus.TERMINATED:
        raise Conflict(f"partner {partner.name} is terminated; nobody can join it")
    return partner


def _leave(db: Session, person: Person) -> events.Draft:
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


def _join(person: Person, partner: Partner, previous: str | None, db: Session) -> events.Draft:
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


def create_person(db: Session, actor: Principal, *, data: PersonCreate) -> Person:
    """Add a person, optionally working at a firm; the first email address is the primary."""
    actor.require(Permission.PEOPLE_WRITE)
    partner_id = data.partner_id
    if actor.partner_scope is not None:
        # Partner admins add staff to their own firm only.
        partner_id = partner_id or actor.partner_scope
    partner = _partner_to_join(db, actor, partner_id) if partner_id is not None else None
    addresses: list[str] = []
    for index, email in enumerate(data.emails):
        address = _normalized(email, f"emails.{index}")
        if address in addresses:
            raise Invalid.field(f"emails.{index}", f"{address} is listed twice")
        addresses.append(address)
    for address in addresses:
        _ensure_email_free(db, address)
    if data.external_id is not None:
        _ensure_person_external_id_free(db, data.external_id)
    now = clock.now()
    person = Person(
        id=new_id("per"),
        given_name=data.given_name,
        family_name=data.family_name,
        track=data.track.value,
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
        drafts.append(_join(person, partner, None, db))
    db.flush()
    events.append_many(db, actor, drafts)
    return person


def get_person(db: Session, actor: Principal, *, person_id: str) -> Person:
    """A person; :class:`NotFound` if unknown or, for partner users, not at their firm now."""
    actor.require(Permission.PEOPLE_READ)
    return _scoped_person(db, actor, person_id)


def list_people(
    db: Session,
    actor: Principal,
    *,
    partner_id: str | None = None,
    track: Track | None = None,
    region: Region | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Person]:
    """People matching every filter given (``region`` is their firm's), one page at a time."""
    actor.require(Permission.PEOPLE_READ)
    check_cursor(cursor)
    text = text_filter(q, "q")
    query = select(Person)
    if actor.partner_scope is not None:
        query = query.where(Person.partner_id == actor.partner_scope)
    if partner_id is not None:
        query = query.where(Person.partner_id == (partner_id if is_storable(partner_id) else ""))
    if track is not None:
        query = query.where(Person.track == Track(track).value)
    if region is not None:
        query = query.where(
            exists().where(
                PartnerRegion.partner_id == Person.partner_id,
                PartnerRegion.region == Region(region).value,
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
    person = _scoped_person(db, actor, person_id, lock=True)
    given = data.model_fields_set
    changes: dict[str, dict[str, Any]] = {}
    if "external_id" in given and data.external_id != person.external_id:
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
    if "track" in given and data.track is not None and data.track.value != person.track:
        changes["track"] = {"from": person.track, "to": data.track.value}
        person.track = data.track.value
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

    Adding an address the person already has with ``primary`` set makes it their primary one.
    """
    actor.require(Permission.PEOPLE_WRITE)
    address = _normalized(email, "email")
    person = _scoped_person(db, actor, person_id, lock=True)
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
    address = _normalized(email, "email")
    person = _scoped_person(db, actor, person_id, lock=True)
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


def person_joins_partner(
    db: Session, actor: Principal, *, person_id: str, partner_id: str
) -> Person:
    """Start a person's employment at a firm, ending any current one first."""
    actor.require(Permission.PEOPLE_WRITE)
    person = _scoped_person(db, actor, person_id, lock=True)
    partner = _partner_to_join(db, actor, partner_id)
    previous = person.partner_id
    if previous == partner.id:
        raise Conflict(f"the person already works at {partner.name}")
    drafts = []
    if previous is not None:
        drafts.append(_leave(db, person))
    drafts.append(_join(person, partner, previous, db))
    db.flush()
    events.append_many(db, actor, drafts)
    return person


def person_leaves_partner(db: Session, actor: Principal, *, person_id: str) -> Person:
    """End a person's employment at their current firm; their own credentials stay theirs."""
    actor.require(Permission.PEOPLE_WRITE)
    person = _scoped_person(db, actor, person_id, lock=True)
    if person.partner_id is None:
        raise Conflict("the person does not work at any partner")
    draft = _leave(db, person)
    db.flush()
    events.append_many(db, actor, [draft])
    return person


def list_employments(db: Session, actor: Principal, *, person_id: str) -> list[Employment]:
    """A person's employment history, oldest first (partner users: their firm's stints only)."""
    actor.require(Permission.PEOPLE_READ)
    person = _scoped_person(db, actor, person_id)
    query = select(Employment).where(Employment.person_id == person.id)
    if actor.partner_scope is not None:
        query = query.where(Employment.partner_id == actor.partner_scope)
    return list(db.scalars(query.order_by(Employment.joined_at, Employment.id)))


def primary_email(db: Session, *, person_id: str) -> str | None:
    """A person's primary address, or ``None`` (for notifications; no permission check)."""
    return db.scalar(
        select(PersonEmail.email).where(
            PersonEmail.person_id == person_id, PersonEmail.primary.is_(True)
        )
    )


def find_person_by_email(db: Session, actor: Principal, *, email: str) -> Person | None:
    """The person with this address, if the caller may see them (imports, sign-up matching)."""
    actor.require(Permission.PEOPLE_READ)
    address = _normalized(email, "email")
    person = db.scalar(
        select(Person)
        .join(PersonEmail, PersonEmail.person_id == Person.id)
        .where(PersonEmail.email == address)
    )
    if person is None:
        return None
    if actor.partner_scope is not None and person.partner_id != actor.partner_scope:
        return None
    return person
