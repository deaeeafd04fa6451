"""Confirming an invitation: what its owner sees by the emailed link, and what accepting does.

Only here is the invited address looked up. Accepting an invitation to join a firm creates the
person when the address is new, or moves the person who has it to the firm (their credentials
are theirs and follow them, as with any change of firm); accepting an address for a colleague
adds it to them. When that cannot be done (the address is another person's, the colleague
left, the firm was terminated), the owner is told why and the invitation stays as it was:
from the firm's side, that looks like an owner who has not answered yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core import clock, events
from charter.core.auth import Principal
from charter.core.errors import Conflict, NotFound
from charter.core.ids import new_id
from charter.partners.employment import end_employment, start_employment
from charter.partners.enums import InvitationKind, InvitationState, PartnerStatus
from charter.partners.invitation_links import read_token
from charter.partners.models import Invitation, Partner, Person, PersonEmail

INVITEE = Principal.system("invitation")
"""Who acts when an invitation is accepted: the address's owner, known by the signed link."""


@dataclass(frozen=True, slots=True)
class InvitationView:
    """What the confirmation page shows the address's owner."""

    id: str
    kind: InvitationKind
    state: InvitationState
    email: str
    firm_name: str
    invitee_name: str  # the name the firm gave, or the colleague's
    expires_at: datetime


def _by_token(db: Session, settings: Settings, token: str, *, lock: bool = False) -> Invitation:
    invitation_id = read_token(settings, token)
    query = select(Invitation).where(Invitation.id == invitation_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    invitation = db.scalars(query).one_or_none()
    if invitation is None:
        raise NotFound("this invitation link is not valid")
    return invitation


def _view(db: Session, invitation: Invitation) -> InvitationView:
    firm = db.get(Partner, invitation.partner_id)
    if invitation.kind == InvitationKind.EMAIL.value:
        colleague = db.get(Person, invitation.person_id) if invitation.person_id else None
        name = colleague.display_name if colleague is not None else ""
    else:
        name = f"{invitation.given_name or ''} {invitation.family_name or ''}".strip()
    return InvitationView(
        id=invitation.id,
        kind=InvitationKind(invitation.kind),
        state=InvitationState(invitation.state),
        email=invitation.email,
        firm_name=firm.name if firm is not None else "",
        invitee_name=name,
        expires_at=invitation.expires_at,
    )


def view_invitation(db: Session, settings: Settings, *, token: str) -> InvitationView:
    """The invitation a link names, as its owner sees it; :class:`NotFound` for a bad link."""
    return _view(db, _by_token(db, settings, token))


def _ensure_open(invitation: Invitation) -> None:
    state = invitation.state
    if state == InvitationState.ACCEPTED.value:
        raise Conflict("this invitation was already accepted; its link works once", state=state)
    if state == InvitationState.EXPIRED.value:
        raise Conflict("this invitation has expired; ask the firm to send a new one", state=state)
    if state == InvitationState.CANCELLED.value:
        raise Conflict("the firm withdrew this invitation", state=state)


def _holder(db: Session, address: str) -> Person | None:
    person_id = db.scalar(select(PersonEmail.person_id).where(PersonEmail.email == address))
    if person_id is None:
        return None
    return db.scalars(
        select(Person)
        .where(Person.id == person_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _join(db: Session, invitation: Invitation, firm: Partner) -> tuple[Person, list[events.Draft]]:
    """The owner joins the firm: a new person, or the existing one moving (with credentials)."""
    person = _holder(db, invitation.email)
    drafts: list[events.Draft] = []
    if person is None:
        person = Person(
            id=new_id("per"),
            given_name=invitation.given_name or "",
            family_name=invitation.family_name or "",
            track=invitation.track or "",
            partner_id=None,
            external_id=None,
            did=invitation.did,
            email_rows=[
                PersonEmail(
                    id=new_id("pem"), email=invitation.email, primary=True, created_at=clock.now()
                )
            ],
        )
        db.add(person)
        db.flush()
        drafts.append(
            events.Draft(
                "person.created",
                "person",
                person.id,
                {
                    "given_name": person.given_name,
                    "family_name": person.family_name,
                    "track": person.track,
                    "partner_id": firm.id,
                    "emails": [invitation.email],
                    "external_id": None,
                    "did": person.did,
                    "invitation_id": invitation.id,
                },
                partner_id=firm.id,
            )
        )
        drafts.append(start_employment(db, person, firm, None))
    elif person.partner_id != firm.id:
        previous = person.partner_id
        if previous is not None:
            drafts.append(end_employment(db, person))
        drafts.append(start_employment(db, person, firm, previous))
    return person, drafts


def _add_address(db: Session, invitation: Invitation) -> tuple[Person, list[events.Draft]]:
    """The address joins the colleague it was invited for, if it is still free."""
    colleague = (
        db.scalars(
            select(Person)
            .where(Person.id == invitation.person_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if invitation.person_id
        else None
    )
    if colleague is None or colleague.partner_id != invitation.partner_id:
        raise Conflict("the person this address was for no longer works at the firm")
    holder = _holder(db, invitation.email)
    if holder is not None and holder.id != colleague.id:
        raise Conflict(
            f"{invitation.email} is already on record for someone else in the program, so it "
            "cannot be added to this person; the program team can help"
        )
    if holder is not None:
        return colleague, []
    row = PersonEmail(
        id=new_id("pem"), email=invitation.email, primary=invitation.primary, created_at=clock.now()
    )
    if invitation.primary:
        for other in colleague.email_rows:
            other.primary = False
    colleague.email_rows.append(row)
    db.flush()
    draft = events.Draft(
        "person.email_added",
        "person",
        colleague.id,
        {"email": invitation.email, "primary": invitation.primary, "invitation_id": invitation.id},
        partner_id=colleague.partner_id,
    )
    return colleague, [draft]


def accept_invitation(db: Session, settings: Settings, *, token: str) -> InvitationView:
    """Do what the invitation asks, once; :class:`Conflict` saying why when it cannot."""
    invitation = _by_token(db, settings, token, lock=True)
    _ensure_open(invitation)
    firm = db.scalars(select(Partner).where(Partner.id == invitation.partner_id)).one()
    if firm.status == PartnerStatus.TERMINATED.value:
        raise Conflict(f"{firm.name} has left the program; the invitation cannot be accepted")
    if invitation.kind == InvitationKind.PERSON.value:
        person, drafts = _join(db, invitation, firm)
    else:
        person, drafts = _add_address(db, invitation)
    invitation.status = InvitationState.ACCEPTED.value
    invitation.accepted_at = clock.now()
    invitation.person_id = person.id
    db.flush()
    drafts.append(
        events.Draft(
            "invitation.accepted",
            "invitation",
            invitation.id,
            {"kind": invitation.kind, "person_id": person.id},
            partner_id=firm.id,
        )
    )
    events.append_many(db, INVITEE, drafts)
    return _view(db, invitation)
