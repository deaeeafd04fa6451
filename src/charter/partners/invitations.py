"""Invitations: how partner users add people and addresses without learning who is on record.

People are one record each, unique by email address across the program: a person keeps their
credentials when they change firms. So a partner user cannot simply create a person with an
address already on record, and being told so would tell them that the address belongs to
someone certified here (at a competitor, or between jobs). Instead, everything a partner user
adds goes to the address as an invitation, and the answer is the same whether the address is
known or not: 202 and a pending invitation. Only the address's owner, by confirming the link
in the email (:mod:`charter.partners.acceptance`), decides what happens: a new person at the
firm, or their existing record moving to it with their credentials, or the address joining
a colleague's.

Inviting never looks outside the firm: the checks here read the firm's own people and
invitations only, which the caller may list anyway, so neither the answer nor the work done
depends on who else holds the address. Staff keep adding people directly
(:func:`charter.partners.people.create_person`), and are told who holds a taken address.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid, NotFound
from charter.core.ids import new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate
from charter.core.text import is_storable
from charter.partners import people, taxonomy
from charter.partners.employment import partner_to_join
from charter.partners.enums import InvitationKind, InvitationState, TaxonomyKind
from charter.partners.models import Invitation, Partner, Person, PersonEmail
from charter.partners.schemas import MAX_EMAILS, PersonCreate
from charter.partners.service import scoped_partner, scoped_person

INVITATION_LIFETIME = timedelta(days=14)


def actor_label(actor: Principal) -> str:
    """Who sent an invitation, as its firm sees it."""
    return actor.user_id or actor.id or f"{actor.kind}:{actor.name}"


def _ensure_not_at_the_firm(db: Session, partner: Partner, address: str) -> None:
    """Refuse an address a current colleague already has (the firm can see its own people)."""
    colleague = db.scalar(
        select(PersonEmail.person_id)
        .join(Person, Person.id == PersonEmail.person_id)
        .where(PersonEmail.email == address, Person.partner_id == partner.id)
    )
    if colleague is not None:
        raise Conflict(
            f"{address} is already the address of person {colleague} at your firm",
            email=address,
            person_id=colleague,
        )


def _ensure_not_invited(db: Session, partner: Partner, address: str) -> None:
    """Refuse a second live invitation from the firm to the same address."""
    now = clock.now()
    pending = db.scalar(
        select(Invitation.id).where(
            Invitation.partner_id == partner.id,
            Invitation.email == address,
            Invitation.status == InvitationState.PENDING.value,
            Invitation.expires_at > now,
        )
    )
    if pending is not None:
        raise Conflict(
            f"{address} already has a pending invitation ({pending}); cancel it to send another",
            email=address,
            invitation_id=pending,
        )


def _send(
    db: Session,
    actor: Principal,
    partner: Partner,
    *,
    kind: InvitationKind,
    address: str,
    person_id: str | None = None,
    data: PersonCreate | None = None,
    primary: bool = False,
) -> Invitation:
    _ensure_not_at_the_firm(db, partner, address)
    _ensure_not_invited(db, partner, address)
    now = clock.now()
    invitation = Invitation(
        id=new_id("inv"),
        kind=kind.value,
        partner_id=partner.id,
        email=address,
        status=InvitationState.PENDING.value,
        person_id=person_id,
        given_name=data.given_name if data else None,
        family_name=data.family_name if data else None,
        track=data.track if data else None,
        did=data.did if data else None,
        primary=primary,
        invited_by=actor_label(actor),
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
        accepted_at=None,
        cancelled_at=None,
    )
    db.add(invitation)
    db.flush()
    # The worker mails the link on this event (notify); the payload is the same whoever
    # holds the address, since the firm's event feed shows it.
    events.append(
        db,
        actor,
        "invitation.created",
        invitation,
        partner_id=partner.id,
        kind=kind.value,
        email=address,
        person_id=person_id,
        expires_at=invitation.expires_at.isoformat(),
    )
    return invitation


def invite_person(db: Session, actor: Principal, *, data: PersonCreate) -> Invitation:
    """Invite the owner of one address to join a firm (the caller's, for a partner user)."""
    actor.require(Permission.PEOPLE_WRITE)
    partner_id = data.partner_id or actor.partner_scope
    if partner_id is None:
        raise Invalid.field("partner_id", "an invitation is to join a firm: name the firm")
    if data.external_id is not None:
        raise Invalid.field("external_id", people.EXTERNAL_ID_IS_THE_PROGRAMS)
    if len(data.emails) != 1:
        raise Invalid.field(
            "emails",
            "an invitation goes to one address; add the person's other addresses once they "
            "have joined",
        )
    address = people.normalized_email(data.emails[0], "emails.0")
    taxonomy.require_codes(db, TaxonomyKind.TRACK, "track", [data.track])
    partner = partner_to_join(db, actor, partner_id)
    return _send(db, actor, partner, kind=InvitationKind.PERSON, address=address, data=data)


def invite_email(
    db: Session, actor: Principal, *, person_id: str, email: str, primary: bool = False
) -> Invitation:
    """Ask the owner of an address to confirm it as a colleague's (``primary``: their main one)."""
    actor.require(Permission.PEOPLE_WRITE)
    address = people.normalized_email(email, "email")
    person = scoped_person(db, actor, person_id)
    if person.partner_id is None:
        raise Conflict("the person works at no firm; the program team adds their addresses")
    if len(person.email_rows) >= MAX_EMAILS:
        raise Invalid.field("email", f"a person can have at most {MAX_EMAILS} addresses")
    partner = partner_to_join(db, actor, person.partner_id)
    return _send(
        db,
        actor,
        partner,
        kind=InvitationKind.EMAIL,
        address=address,
        person_id=person.id,
        primary=primary,
    )


def add_person(db: Session, actor: Principal, *, data: PersonCreate) -> Person | Invitation:
    """Add a person: staff create them at once; a partner user's addition is an invitation."""
    if actor.partner_scope is None:
        return people.create_person(db, actor, data=data)
    return invite_person(db, actor, data=data)


def add_email(
    db: Session, actor: Principal, *, person_id: str, email: str, primary: bool = False
) -> PersonEmail | Invitation:
    """Add an address to a person: at once for staff; by invitation for a partner user.

    A partner user making one of the person's own addresses primary needs no invitation: the
    address is already theirs, and the caller can see it.
    """
    if actor.partner_scope is not None:
        actor.require(Permission.PEOPLE_WRITE)
        address = people.normalized_email(email, "email")
        person = scoped_person(db, actor, person_id)
        if address not in person.emails:
            return invite_email(db, actor, person_id=person.id, email=address, primary=primary)
    return people.add_person_email(db, actor, person_id=person_id, email=email, primary=primary)


def _scoped_invitation(
    db: Session, actor: Principal, invitation_id: str, *, lock: bool = False
) -> Invitation:
    query = select(Invitation).where(
        Invitation.id == (invitation_id if is_storable(invitation_id) else "")
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    invitation = db.scalars(query).one_or_none()
    if invitation is None or (
        actor.partner_scope is not None and invitation.partner_id != actor.partner_scope
    ):
        raise NotFound(f"invitation {invitation_id} not found")
    return invitation


def get_invitation(db: Session, actor: Principal, *, invitation_id: str) -> Invitation:
    """One invitation; :class:`NotFound` if unknown or another firm's."""
    actor.require(Permission.PEOPLE_READ)
    return _scoped_invitation(db, actor, invitation_id)


def list_invitations(
    db: Session,
    actor: Principal,
    *,
    partner_id: str,
    state: InvitationState | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Invitation]:
    """A firm's invitations, newest id last, optionally in one state."""
    actor.require(Permission.PEOPLE_READ)
    check_cursor(cursor)
    partner = scoped_partner(db, actor, partner_id)
    query = select(Invitation).where(Invitation.partner_id == partner.id)
    if state is not None:
        now = clock.now()
        state = InvitationState(state)
        if state is InvitationState.EXPIRED:
            query = query.where(
                Invitation.status == InvitationState.PENDING.value, Invitation.expires_at <= now
            )
        else:
            query = query.where(Invitation.status == state.value)
            if state is InvitationState.PENDING:
                query = query.where(Invitation.expires_at > now)
    return paginate(db, query, Invitation.id, cursor=cursor, limit=limit)


def cancel_invitation(db: Session, actor: Principal, *, invitation_id: str) -> Invitation:
    """Withdraw a pending invitation: its link stops working."""
    actor.require(Permission.PEOPLE_WRITE)
    invitation = _scoped_invitation(db, actor, invitation_id, lock=True)
    if invitation.state != InvitationState.PENDING.value:
        raise Conflict(
            f"the invitation is {invitation.state}; only a pending one can be cancelled",
            state=invitation.state,
        )
    invitation.status = InvitationState.CANCELLED.value
    invitation.cancelled_at = clock.now()
    db.flush()
    events.append(db, actor, "invitation.cancelled", invitation, partner_id=invitation.partner_id)
    return invitation
