"""Routes for awards: issue, list, read, revoke, suspend, reinstate, renew."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.schemas import Page
from charter.credentials import documents, service
from charter.credentials.eligibility import check_eligibility
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.credentials.rules import LIVE_STATUSES
from charter.credentials.schemas import (
    AwardBatchIn,
    AwardBatchOut,
    AwardCreate,
    AwardOut,
    EligibilityOut,
    ReasonIn,
    ReinstateIn,
    RenewIn,
)
from charter.deps import (
    CurrentPrincipal,
    Cursor,
    DbSession,
    Limit,
    answers_kept,
    api_router,
    kept_json,
)
from charter.partners.taxonomy_schemas import RegionFilter, TrackFilter

router = api_router()

# A page of awards is validated in one call, from the rows' dicts, and written in one.
_AWARDS = TypeAdapter(list[AwardOut])
_PAGE = TypeAdapter(Page[AwardOut])

IdQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_]+$")]


def award_out(db: Session, actor: Principal, award: Award) -> AwardOut:
    """The API shape of an award, with its effective status and its credential."""
    return awards_out(db, actor, [award])[0]


def awards_out(db: Session, actor: Principal, awards: list[Award]) -> list[AwardOut]:
    """The API shapes of awards, their credentials found in one query."""
    links = service.credential_links(db, actor, award_ids=[award.id for award in awards])
    shapes = []
    for award in awards:
        out = AwardOut.model_validate(award)
        out.status = service.effective_status_of(award)
        _link(out, links)
        shapes.append(out)
    return shapes


def _link(out: AwardOut, links: dict[str, service.CredentialLink]) -> None:
    link = links.get(out.id)
    if link is not None:
        out.credential_id, out.credential_url = link


@router.post("/awards", status_code=201, response_model=AwardOut, tags=["awards"])
def issue_award(body: AwardCreate, db: DbSession, actor: CurrentPrincipal) -> AwardOut:
    """Award a certification to a person who meets its criteria (or by an admin's override)."""
    award = service.issue_award(db, actor, data=body)
    return award_out(db, actor, award)


@router.post("/awards/batch", status_code=201, response_model=AwardBatchOut, tags=["awards"])
def issue_awards_batch(body: AwardBatchIn, db: DbSession, actor: CurrentPrincipal) -> AwardBatchOut:
    """Issue up to 1,000 awards at once: all of them, or none with every refusal listed."""
    awards = service.issue_awards_batch(db, actor, items=body.items)
    return AwardBatchOut(items=awards_out(db, actor, awards))


@router.get("/awards", response_model=Page[AwardOut], tags=["awards"])
@answers_kept
async def list_awards(
    request: Request,
    actor: CurrentPrincipal,
    partner_id: IdQuery = None,
    person_id: IdQuery = None,
    status: AwardStatus | None = None,
    track: TrackFilter = None,
    region: RegionFilter = None,
    certification_id: IdQuery = None,
    expiring_before: Annotated[
        datetime | None,
        Query(description="awards valid until before this time (UTC if no zone is given)"),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    """Awards by firm, person, effective status, track, region, certification or expiry.

    Answered with an ``ETag`` (``If-None-Match`` gives ``304``); a caller asking for the same
    page again before anything changes is answered from memory.
    """
    actor.require(Permission.AWARDS_READ)
    settings = request.app.state.settings

    def page_of_awards(db: Session) -> tuple[bytes, datetime | None]:
        page = service.list_awards(
            db,
            actor,
            partner_id=partner_id,
            person_id=person_id,
            status=status,
            track=track,
            region=region,
            certification_id=certification_id,
            expiring_before=expiring_before,
            cursor=cursor,
            limit=limit,
        )
        items = _AWARDS.validate_python(page.items)
        for item in items:
            if item.credential_id is not None:
                item.credential_url = documents.credential_url(settings, item.credential_id)
        body = _PAGE.dump_json(Page[AwardOut](items=items, next_cursor=page.next_cursor))
        # A live award's effective status turns to expired at its valid_until, by the clock.
        lapses = [item.valid_until for item in items if item.status in LIVE_STATUSES]
        return body, min(lapses, default=None)

    return await kept_json(request, actor, page_of_awards)


@router.get("/awards/{award_id}", response_model=AwardOut, tags=["awards"])
def get_award(award_id: str, db: DbSession, actor: CurrentPrincipal) -> AwardOut:
    """One award, with its effective status."""
    award = service.get_award(db, actor, award_id=award_id)
    return award_out(db, actor, award)


@router.post("/awards/{award_id}/revoke", response_model=AwardOut, tags=["awards"])
def revoke_award(award_id: str, body: ReasonIn, db: DbSession, actor: CurrentPrincipal) -> AwardOut:
    """Revoke an award for good."""
    award = service.revoke_award(db, actor, award_id=award_id, reason=body.reason)
    return award_out(db, actor, award)


@router.post("/awards/{award_id}/suspend", response_model=AwardOut, tags=["awards"])
def suspend_award(
    award_id: str, body: ReasonIn, db: DbSession, actor: CurrentPrincipal
) -> AwardOut:
    """Suspend an active award."""
    award = service.suspend_award(db, actor, award_id=award_id, reason=body.reason)
    return award_out(db, actor, award)


@router.post("/awards/{award_id}/reinstate", response_model=AwardOut, tags=["awards"])
def reinstate_award(
    award_id: str, db: DbSession, actor: CurrentPrincipal, body: ReinstateIn | None = None
) -> AwardOut:
    """Reinstate a suspended award."""
    reason = body.reason if body else None
    award = service.reinstate_award(db, actor, award_id=award_id, reason=reason)
    return award_out(db, actor, award)


@router.post("/awards/{award_id}/renew", response_model=AwardOut, tags=["awards"])
def renew_award(
    award_id: str, db: DbSession, actor: CurrentPrincipal, body: RenewIn | None = None
) -> AwardOut:
    """Renew an award inside its renewal window, against the criteria in force now."""
    override = body.override_reason if body else None
    award = service.renew_award(db, actor, award_id=award_id, override_reason=override)
    return award_out(db, actor, award)


@router.get("/people/{person_id}/eligibility", response_model=EligibilityOut, tags=["awards"])
def eligibility(
    person_id: str,
    db: DbSession,
    actor: CurrentPrincipal,
    certification_id: Annotated[str, Query(min_length=1, max_length=40)],
) -> EligibilityOut:
    """Whether the person meets the certification's criteria in force now, and what is missing."""
    result = check_eligibility(db, actor, person_id=person_id, certification_id=certification_id)
    return EligibilityOut(
        person_id=result.person_id,
        certification_id=result.certification_id,
        criteria_version_id=result.criteria_version_id,
        criteria_version=result.criteria_version,
        evaluated_at=result.evaluated_at,
        met=result.met,
        unmet=result.unmet,
    )
