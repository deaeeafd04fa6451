"""Routes for partner firms and their people: thin callers of the partners services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Response
from fastapi.responses import JSONResponse

from charter.core.pagination import DEFAULT_LIMIT
from charter.core.pagination import Page as ResultPage
from charter.core.schemas import Page
from charter.deps import CurrentPrincipal, Cursor, DbSession, Limit, api_router
from charter.partners import (
    employment,
    firms,
    invitations,
    listing,
    onboarding,
    people,
    service,
)
from charter.partners.enums import (
    InvitationState,
    OnboardingCheck,
    PartnerStatus,
)
from charter.partners.models import Invitation, Partner, Person
from charter.partners.schemas import (
    EmploymentOut,
    InvitationOut,
    JoinPartner,
    ListingOut,
    ListingUpdate,
    OnboardingCheckUpdate,
    PartnerCreate,
    PartnerOut,
    PartnerUpdate,
    PersonCreate,
    PersonEmailIn,
    PersonOut,
    PersonUpdate,
)
from charter.partners.taxonomy_api import router as taxonomy_router
from charter.partners.taxonomy_schemas import PartnerTypeFilter, RegionFilter, TrackFilter

router = api_router()
router.include_router(taxonomy_router)

PartnerId = Annotated[str, Path(min_length=1, max_length=40, description="A partner id (prt_…)")]
InvitationId = Annotated[
    str, Path(min_length=1, max_length=40, description="An invitation id (inv_…)")
]
PersonId = Annotated[str, Path(min_length=1, max_length=40, description="A person id (per_…)")]
Search = Annotated[str | None, Query(max_length=200, description="Name contains (any case)")]


def _partner_page(page: ResultPage[Partner]) -> Page[PartnerOut]:
    items = [PartnerOut.model_validate(partner) for partner in page.items]
    return Page[PartnerOut](items=items, next_cursor=page.next_cursor)


def _people_page(page: ResultPage[Person]) -> Page[PersonOut]:
    items = [PersonOut.model_validate(person) for person in page.items]
    return Page[PersonOut](items=items, next_cursor=page.next_cursor)


@router.post("/partners", status_code=201, response_model=PartnerOut, tags=["partners"])
def create_partner(body: PartnerCreate, db: DbSession, actor: CurrentPrincipal) -> Partner:
    """Register a partner firm; it starts as an applicant."""
    return firms.create_partner(db, actor, data=body)


@router.get("/partners", response_model=Page[PartnerOut], tags=["partners"])
def list_partners(
    db: DbSession,
    actor: CurrentPrincipal,
    status: PartnerStatus | None = None,
    type: PartnerTypeFilter = None,
    region: RegionFilter = None,
    country: Annotated[
        str | None, Query(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    ] = None,
    q: Search = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[PartnerOut]:
    """Partner firms, filtered; partner users see their own firm only."""
    page = firms.list_partners(
        db,
        actor,
        status=status,
        type=type,
        region=region,
        country=country,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    return _partner_page(page)


@router.get("/partners/{partner_id}", response_model=PartnerOut, tags=["partners"])
def get_partner(partner_id: PartnerId, db: DbSession, actor: CurrentPrincipal) -> Partner:
    """One partner firm."""
    return service.get_partner(db, actor, partner_id=partner_id)


@router.patch("/partners/{partner_id}", response_model=PartnerOut, tags=["partners"])
def update_partner(
    partner_id: PartnerId, body: PartnerUpdate, db: DbSession, actor: CurrentPrincipal
) -> Partner:
    """Change a firm's profile; fields left out are kept."""
    return firms.update_partner(db, actor, partner_id=partner_id, data=body)


@router.patch("/partners/{partner_id}/listing", response_model=ListingOut, tags=["partners"])
def update_listing(
    partner_id: PartnerId, body: ListingUpdate, db: DbSession, actor: CurrentPrincipal
) -> ListingOut:
    """Change the firm's public directory listing: listed or not, blurb, website, slug.

    Partner admins change their own firm's, program staff any firm's. The directory shows a
    firm only while it is listed and active.
    """
    partner = listing.update_listing(db, actor, partner_id=partner_id, data=body)
    return listing.listing_out(db, partner)


@router.put(
    "/partners/{partner_id}/onboarding/{check}", response_model=PartnerOut, tags=["partners"]
)
def set_onboarding_check(
    partner_id: PartnerId,
    check: OnboardingCheck,
    body: OnboardingCheckUpdate,
    db: DbSession,
    actor: CurrentPrincipal,
) -> Partner:
    """Mark one onboarding check done or not done."""
    return onboarding.set_onboarding_check(
        db, actor, partner_id=partner_id, check=check, done=body.done, note=body.note
    )


@router.get("/partners/{partner_id}/people", response_model=Page[PersonOut], tags=["partners"])
def list_partner_people(
    partner_id: PartnerId,
    db: DbSession,
    actor: CurrentPrincipal,
    track: TrackFilter = None,
    q: Search = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[PersonOut]:
    """The people working at a firm now."""
    service.get_partner(db, actor, partner_id=partner_id)
    page = people.list_people(
        db, actor, partner_id=partner_id, track=track, q=q, cursor=cursor, limit=limit
    )
    return _people_page(page)


# Partner users' additions are invitations, answered alike whether or not the address is known.
INVITED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": InvitationOut,
        "description": "A partner user's addition: an invitation was sent to the address; its "
        "owner confirms by the emailed link",
    }
}


def _invited(invitation: Invitation) -> JSONResponse:
    body = InvitationOut.model_validate(invitation).model_dump(mode="json")
    return JSONResponse(
        body, status_code=202, headers={"Location": f"/api/v1/invitations/{invitation.id}"}
    )


@router.post(
    "/people", status_code=201, response_model=PersonOut, responses=INVITED, tags=["people"]
)
def create_person(body: PersonCreate, db: DbSession, actor: CurrentPrincipal) -> Any:
    """Add a person; the first email address is the primary one.

    Staff create the person at once (201). A partner user's request invites the address's
    owner to join their firm (202, one address, no external id): the owner confirms by the
    emailed link.
    """
    added = invitations.add_person(db, actor, data=body)
    if isinstance(added, Invitation):
        return _invited(added)
    return added


@router.get("/people", response_model=Page[PersonOut], tags=["people"])
def list_people(
    db: DbSession,
    actor: CurrentPrincipal,
    partner_id: Annotated[str | None, Query(max_length=40)] = None,
    track: TrackFilter = None,
    region: RegionFilter = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Name or email contains (any case)")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[PersonOut]:
    """People, filtered; partner users see their own firm's current people only."""
    page = people.list_people(
        db,
        actor,
        partner_id=partner_id,
        track=track,
        region=region,
        q=q,
        cursor=cursor,
        limit=limit,
    )
    return _people_page(page)


@router.get("/people/{person_id}", response_model=PersonOut, tags=["people"])
def get_person(person_id: PersonId, db: DbSession, actor: CurrentPrincipal) -> Person:
    """One person."""
    return service.get_person(db, actor, person_id=person_id)


@router.patch("/people/{person_id}", response_model=PersonOut, tags=["people"])
def update_person(
    person_id: PersonId, body: PersonUpdate, db: DbSession, actor: CurrentPrincipal
) -> Person:
    """Change a person's name, track or external id."""
    return people.update_person(db, actor, person_id=person_id, data=body)


@router.post(
    "/people/{person_id}/emails",
    status_code=201,
    response_model=PersonOut,
    responses=INVITED,
    tags=["people"],
)
def add_person_email(
    person_id: PersonId, body: PersonEmailIn, db: DbSession, actor: CurrentPrincipal
) -> Any:
    """Add an address (or, with ``primary``, make an existing one primary).

    A partner user adding a new address gets an invitation (202): the address's owner
    confirms it by the emailed link.
    """
    added = invitations.add_email(
        db, actor, person_id=person_id, email=body.email, primary=body.primary
    )
    if isinstance(added, Invitation):
        return _invited(added)
    return service.get_person(db, actor, person_id=person_id)


@router.delete("/people/{person_id}/emails/{email}", status_code=204, tags=["people"])
def remove_person_email(
    person_id: PersonId,
    email: Annotated[str, Path(min_length=1, max_length=320)],
    db: DbSession,
    actor: CurrentPrincipal,
) -> Response:
    """Remove an address (not the primary one)."""
    people.remove_person_email(db, actor, person_id=person_id, email=email)
    return Response(status_code=204)


@router.post("/people/{person_id}/join", response_model=PersonOut, tags=["people"])
def join_partner(
    person_id: PersonId, body: JoinPartner, db: DbSession, actor: CurrentPrincipal
) -> Person:
    """The person starts working at a firm (leaving their current one, if any)."""
    return employment.person_joins_partner(
        db, actor, person_id=person_id, partner_id=body.partner_id
    )


@router.post("/people/{person_id}/leave", response_model=PersonOut, tags=["people"])
def leave_partner(person_id: PersonId, db: DbSession, actor: CurrentPrincipal) -> Person:
    """The person stops working at their current firm."""
    return employment.person_leaves_partner(db, actor, person_id=person_id)


@router.get("/people/{person_id}/employments", response_model=list[EmploymentOut], tags=["people"])
def list_employments(
    person_id: PersonId, db: DbSession, actor: CurrentPrincipal
) -> list[EmploymentOut]:
    """The person's employment history, oldest first."""
    employments = employment.list_employments(db, actor, person_id=person_id)
    return [EmploymentOut.model_validate(item) for item in employments]


@router.get(
    "/partners/{partner_id}/invitations", response_model=Page[InvitationOut], tags=["partners"]
)
def list_invitations(
    partner_id: PartnerId,
    db: DbSession,
    actor: CurrentPrincipal,
    state: InvitationState | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[InvitationOut]:
    """The invitations a firm sent: pending, accepted, expired or cancelled."""
    page = invitations.list_invitations(
        db, actor, partner_id=partner_id, state=state, cursor=cursor, limit=limit
    )
    items = [InvitationOut.model_validate(item) for item in page.items]
    return Page[InvitationOut](items=items, next_cursor=page.next_cursor)


@router.get("/invitations/{invitation_id}", response_model=InvitationOut, tags=["partners"])
def get_invitation(
    invitation_id: InvitationId, db: DbSession, actor: CurrentPrincipal
) -> Invitation:
    """One invitation."""
    return invitations.get_invitation(db, actor, invitation_id=invitation_id)


@router.post("/invitations/{invitation_id}/cancel", response_model=InvitationOut, tags=["partners"])
def cancel_invitation(
    invitation_id: InvitationId, db: DbSession, actor: CurrentPrincipal
) -> Invitation:
    """Withdraw a pending invitation; its link stops working."""
    return invitations.cancel_invitation(db, actor, invitation_id=invitation_id)
