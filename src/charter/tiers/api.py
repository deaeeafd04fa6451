"""Partner tiers over HTTP: thin callers of the tiers services and flows."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from charter.core import clock
from charter.deps import CurrentPrincipal, DbSession, api_router, offloaded
from charter.partners.models import Partner
from charter.partners.schemas import PartnerOut, PartnerStatusChange
from charter.tiers import badges, flows, schemes, service, standings, track_records
from charter.tiers import forecast as tier_forecast
from charter.tiers.models import TierScheme
from charter.tiers.schemas import (
    FirmTierOut,
    ForecastItem,
    Program,
    SchemeCreate,
    SchemeOut,
    StandingOut,
    TerminateIn,
    TerminationReport,
    TrackRecordCreate,
    TrackRecordOut,
)

router = api_router()

PartnerId = Annotated[str, Path(min_length=1, max_length=40, description="A partner id (prt_…)")]
BadgeId = Annotated[str, Path(min_length=1, max_length=40, description="A firm badge id (tbg_…)")]
MEDIA_TYPE = "application/vc+ld+json"


def _scheme_out(row: TierScheme, in_force: bool) -> SchemeOut:
    out = SchemeOut.model_validate(row)
    out.in_force = in_force
    return out


@router.post("/tier-schemes", status_code=201, response_model=SchemeOut, tags=["tiers"])
def publish_scheme(body: SchemeCreate, db: DbSession, actor: CurrentPrincipal) -> SchemeOut:
    """Publish a new version of a program's tiers (in force from ``effective_from``)."""
    row = schemes.publish_scheme(db, actor, data=body)
    return _scheme_out(row, row.effective_from <= clock.now())


@router.get("/tier-schemes", response_model=list[SchemeOut], tags=["tiers"])
def list_schemes(
    db: DbSession, actor: CurrentPrincipal, program: Program | None = None
) -> list[SchemeOut]:
    """Every version of the programs' tiers, oldest first, marking the ones in force."""
    rows = schemes.list_schemes(db, actor, program=program)
    return [_scheme_out(row, in_force) for row, in_force in rows]


@router.post("/track-records", status_code=201, response_model=TrackRecordOut, tags=["tiers"])
def record_track_record(
    body: TrackRecordCreate, db: DbSession, actor: CurrentPrincipal
) -> TrackRecordOut:
    """Record a figure about a firm (deployments, customer satisfaction, ...)."""
    row = track_records.record_track_record(db, actor, data=body)
    return TrackRecordOut.model_validate(row)


@router.get(
    "/partners/{partner_id}/track-records", response_model=list[TrackRecordOut], tags=["tiers"]
)
def list_track_records(
    partner_id: PartnerId, db: DbSession, actor: CurrentPrincipal
) -> list[TrackRecordOut]:
    """A firm's recorded figures, oldest first."""
    rows = track_records.list_track_records(db, actor, partner_id=partner_id)
    return [TrackRecordOut.model_validate(row) for row in rows]


@router.get("/partners/{partner_id}/tiers", response_model=list[FirmTierOut], tags=["tiers"])
def firm_tiers(partner_id: PartnerId, db: DbSession, actor: CurrentPrincipal) -> list[FirmTierOut]:
    """A firm's tier in each program: held, at risk, and what the next tier up needs."""
    return standings.firm_tiers(db, actor, partner_id=partner_id)


@router.post(
    "/partners/{partner_id}/tiers/evaluate", response_model=list[FirmTierOut], tags=["tiers"]
)
def evaluate_firm(
    partner_id: PartnerId, db: DbSession, actor: CurrentPrincipal
) -> list[FirmTierOut]:
    """Re-evaluate a firm's tiers now (the worker does this on every relevant event)."""
    service.evaluate_firm(db, actor, partner_id=partner_id)
    return standings.firm_tiers(db, actor, partner_id=partner_id)


@router.get("/firm-tiers", response_model=list[StandingOut], tags=["tiers"])
@offloaded
def list_standings(
    db: DbSession,
    actor: CurrentPrincipal,
    program: Program | None = None,
    tier: Annotated[str | None, Query(max_length=64)] = None,
    at_risk: bool | None = None,
) -> list[StandingOut]:
    """Firms' standings, filtered; partner users see their own firm's only."""
    rows = standings.list_standings(db, actor, program=program, tier=tier, at_risk=at_risk)
    return [StandingOut.model_validate(row) for row in rows]


@router.get("/tier-forecast", response_model=list[ForecastItem], tags=["tiers"])
@offloaded
def forecast(
    db: DbSession,
    actor: CurrentPrincipal,
    days: Annotated[int, Query(description="30, 60 or 90")] = 30,
    partner_id: Annotated[str | None, Query(max_length=40)] = None,
) -> list[ForecastItem]:
    """Firms that fall below their tier within ``days`` unless people renew, and who."""
    return tier_forecast.forecast(db, actor, days=days, partner_id=partner_id)


@router.post("/partners/{partner_id}/terminate", response_model=TerminationReport, tags=["tiers"])
def terminate(
    partner_id: PartnerId, body: TerminateIn, db: DbSession, actor: CurrentPrincipal
) -> TerminationReport:
    """Terminate a firm: badges revoked, users and keys disabled; returns the final report."""
    return flows.terminate_partner(db, actor, partner_id=partner_id, reason=body.reason)


@router.post("/partners/{partner_id}/status", response_model=PartnerOut, tags=["partners"])
def change_partner_status(
    partner_id: PartnerId, body: PartnerStatusChange, db: DbSession, actor: CurrentPrincipal
) -> Partner:
    """Move a firm along its lifecycle (applicant, onboarding, active, suspended, terminated)."""
    # Here rather than beside the other partner routes: to terminated, the termination flow
    # runs, and partners may not import tiers.
    return flows.change_partner_status(
        db, actor, partner_id=partner_id, status=body.status, reason=body.reason
    )


@router.get(
    "/tier-badges/{badge_id}",
    responses={200: {"content": {MEDIA_TYPE: {}}}},
    response_class=Response,
    tags=["tiers"],
)
def get_badge(badge_id: BadgeId, db: DbSession) -> Response:
    """A firm's signed tier badge, as issued (public: anyone may verify it)."""
    badge = badges.get_badge(db, badge_id)
    return Response(
        badge.document.encode("utf-8"),
        media_type=MEDIA_TYPE,
        headers={"X-Badge-Status": badge.status, "Cache-Control": "public, max-age=300"},
    )
