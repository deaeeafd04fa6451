"""A firm's program page: its tier and what the next one needs, renewals that keep it, its
people and their badges, its tier badge to share; and, for whoever may manage the firm's
people, inviting a person and recording that someone left.

Partner users reach their own firm only (the services' partner scope: another firm's page is a
404 page); vendor staff may open any firm's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid
from charter.core.pagination import MAX_LIMIT
from charter.credentials import documents, linkedin
from charter.credentials import service as credentials
from charter.credentials.enums import AwardStatus
from charter.db.engine import settings_of
from charter.deps import DbSession, api_router
from charter.partners import employment, invitations, taxonomy
from charter.partners import people as people_service
from charter.partners import service as partners
from charter.partners.enums import TaxonomyKind
from charter.partners.models import Partner, Person
from charter.partners.schemas import PersonCreate
from charter.programs import service as programs
from charter.programs.models import Certification
from charter.tiers import forecast, standings
from charter.tiers.rules import Shortfall, ShortfallKind
from charter.tiers.schemas import ForecastItem
from charter.web.i18n import N_
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.filters import taxonomy_labels
from charter.web.portal.posted import Posted, fields, signed_form
from charter.web.public import embed_snippet_for

router = api_router(include_in_schema=False)

HORIZON_DAYS = 90
INVITE_FIELDS = fields("given_name", "family_name", longest=1000) | {"track": 100, "email": 1000}
PEOPLE_SHOWN = 200
AWARDS_SHOWN = MAX_LIMIT


def _figure(value: float) -> str:
    return f"{value:g}"


def _people(count: int) -> str:
    return "person" if count == 1 else "people"


def plain_need(item: Shortfall, names: dict[str, str]) -> str:
    """One thing the firm needs, said to the firm (``names``: certification names by code)."""
    match item.kind:
        case ShortfallKind.STANDING:
            return f"your firm must be active (it is {item.detail[0]})"
        case ShortfallKind.ONBOARDING:
            checks = ", ".join(check.replace("_", " ") for check in item.detail)
            return f"finish onboarding: {checks}"
        case ShortfallKind.TRACK:
            short = item.short_by
            return f"{short} more {_people(short)} certified in the {item.subject} track"
        case ShortfallKind.CERTIFICATION:
            short = item.short_by
            return f"{short} more {names.get(item.subject, item.subject)} {_people(short)}"
        case ShortfallKind.REQUIRED_CERTIFICATION:
            return f"someone certified as {names.get(item.subject, item.subject)}"
        case ShortfallKind.TRACK_RECORD:
            label = item.subject.replace("_", " ")
            if item.have is None:
                return (
                    f"your {label} figure is not recorded yet; it must reach {_figure(item.wanted)}"
                )
            return f"your {label} {_figure(item.have)} must reach {_figure(item.wanted)}"


def _certification_label(found: Certification) -> str:
    return f"{found.name} ({found.track})"


def _names(db: Session, shortfalls: list[Shortfall]) -> dict[str, str]:
    names = {}
    for item in shortfalls:
        if item.kind in (ShortfallKind.CERTIFICATION, ShortfallKind.REQUIRED_CERTIFICATION):
            found = programs.get_certification_by_code(db, code=item.subject)
            if found is not None:
                names[item.subject] = _certification_label(found)
    return names


@dataclass(frozen=True, slots=True)
class TierLine:
    """The firm's standing in one program, its next tier and what that needs, in plain words."""

    program: str
    tier: str | None
    at_risk: bool
    grace_until: datetime | None
    missing: list[str]
    next_tier: str | None
    needs: list[str]


@dataclass(frozen=True, slots=True)
class BadgeShare:
    """The firm's tier badge and the ways to show it."""

    tier: str
    page_url: str
    png_url: str
    svg_url: str
    linkedin_url: str
    embed_snippet: str


@dataclass(frozen=True, slots=True)
class HeldBadge:
    """One active award of a person at the firm."""

    certification: str
    valid_until: datetime
    credential_url: str | None


@dataclass(slots=True)
class ProgramView:
    """Everything the program page shows; ``None`` for a part the viewer may not read."""

    firm: Partner
    tiers: list[TierLine] = field(default_factory=list)
    forecast: list[ForecastItem] = field(default_factory=list)
    badges: list[BadgeShare] = field(default_factory=list)
    expiring: list[dict[str, Any]] | None = None
    people: list[Person] | None = None
    held: dict[str, list[HeldBadge]] = field(default_factory=dict)
    certification_names: dict[str, str] = field(default_factory=dict)
    may_manage: bool = False


def _tiers_and_badges(
    db: Session, actor: Principal, firm: Partner
) -> tuple[list[TierLine], list[BadgeShare]]:
    lines = []
    shares = []
    settings = settings_of(db)
    for progress in standings.firm_progress(db, actor, partner_id=firm.id):
        standing = progress.standing
        names = _names(db, progress.next_tier_shortfalls)
        lines.append(
            TierLine(
                program=standing.program,
                tier=standing.tier.name if standing.tier else None,
                at_risk=standing.at_risk,
                grace_until=standing.grace_until,
                missing=standing.missing,
                next_tier=standing.next_tier.name if standing.next_tier else None,
                needs=[plain_need(item, names) for item in progress.next_tier_shortfalls],
            )
        )
        if standing.tier and standing.badge_id:
            url = documents.credential_url(settings, standing.badge_id)
            shares.append(
                BadgeShare(
                    tier=standing.tier.name,
                    page_url=url,
                    png_url=f"/credentials/{standing.badge_id}/badge.png",
                    svg_url=f"/credentials/{standing.badge_id}/badge.svg",
                    linkedin_url=linkedin.share_url(url),
                    embed_snippet=embed_snippet_for(url, standing.tier.name, firm=True),
                )
            )
    return lines, shares


def _active_awards(
    db: Session, actor: Principal, firm: Partner, *, expiring_before: datetime | None = None
) -> list[dict[str, Any]]:
    page = credentials.list_awards(
        db,
        actor,
        partner_id=firm.id,
        status=AwardStatus.ACTIVE,
        expiring_before=expiring_before,
        limit=AWARDS_SHOWN,
    )
    return list(page.items)


def program_view(db: Session, actor: Principal, *, partner_id: str) -> ProgramView:
    """The program page of a firm as ``actor`` may see it; :class:`NotFound` outside scope."""
    firm = partners.get_partner(db, actor, partner_id=partner_id)
    view = ProgramView(firm=firm)
    view.tiers, view.badges = _tiers_and_badges(db, actor, firm)
    view.forecast = forecast.forecast(db, actor, days=HORIZON_DAYS, partner_id=firm.id)
    for item in view.forecast:
        for renewal in item.renewals:
            code = renewal.certification_code
            if code in view.certification_names:
                continue  # named once, however many people renew it
            found = programs.get_certification_by_code(db, code=code)
            view.certification_names[code] = _certification_label(found) if found else code
    reads_awards = actor.can(Permission.AWARDS_READ) and actor.can(Permission.CERTIFICATIONS_READ)
    if actor.can(Permission.PEOPLE_READ):
        page = people_service.list_people(db, actor, partner_id=firm.id, limit=PEOPLE_SHOWN)
        view.people = list(page.items)
    if reads_awards and view.people is not None:
        names = {person.id: person.display_name for person in view.people}
        certifications: dict[str, Certification] = {}

        def certification(certification_id: str) -> Certification:
            if certification_id not in certifications:
                certifications[certification_id] = programs.get_certification(
                    db, actor, certification_id=certification_id
                )
            return certifications[certification_id]

        for award in _active_awards(db, actor, firm):
            if award["person_id"] not in names:
                continue
            # The list names each award's current credential: no read of its document.
            credential_id = award["credential_id"]
            view.held.setdefault(award["person_id"], []).append(
                HeldBadge(
                    certification=_certification_label(certification(award["certification_id"])),
                    valid_until=award["valid_until"],
                    credential_url=f"/credentials/{credential_id}" if credential_id else None,
                )
            )
        until = clock.now() + timedelta(days=HORIZON_DAYS)
        expiring = []
        for award in _active_awards(db, actor, firm, expiring_before=until):
            if award["person_id"] not in names:
                continue
            expiring.append(
                {
                    "person_id": award["person_id"],
                    "name": names[award["person_id"]],
                    "certification": _certification_label(certification(award["certification_id"])),
                    "valid_until": award["valid_until"],
                }
            )
        view.expiring = sorted(expiring, key=lambda item: (item["valid_until"], item["name"]))
    view.may_manage = actor.can(Permission.PEOPLE_WRITE)
    return view


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    view: ProgramView,
    *,
    invite: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "portal/program.html",
        {
            "principal": principal,
            "view": view,
            **taxonomy_labels(db),
            "tracks": taxonomy.read(db).choices(TaxonomyKind.TRACK),
            "invite": invite or {},
            "error": error,
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/program/{partner_id}")
def program_page(request: Request, db: DbSession, partner_id: str) -> Response:
    """The firm's program: tier, what the next tier needs, renewals, people, badges."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    view = program_view(db, principal, partner_id=partner_id)
    notice = {
        "invited": N_("Invitation sent."),
        "left": N_("Recorded: that person left the firm."),
    }.get(request.query_params.get("done", ""))
    return _page(request, db, principal, view, notice=notice)


def _error_text(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'is not valid')}"


@router.post("/program/{partner_id}/invite")
def invite(request: Request, db: DbSession, form: Posted, partner_id: str) -> Response:
    """Invite a person to join the firm (the invitation mail goes out as from the API)."""
    posted = signed_form(request, db, form, INVITE_FIELDS)
    if isinstance(posted, Response):
        return posted
    principal, entered = posted
    firm = partners.get_partner(db, principal, partner_id=partner_id)
    principal.require(Permission.PEOPLE_WRITE)
    try:
        data = PersonCreate(
            given_name=entered["given_name"],
            family_name=entered["family_name"],
            track=entered["track"],  # checked against the program's tracks by the service
            partner_id=firm.id,
            emails=[entered["email"]],
        )
        invitations.invite_person(db, principal, data=data)
    except ValidationError as error:
        message = _error_text(error)
    except (Invalid, Conflict) as error:
        message = error.detail
    else:
        return redirect(f"/program/{firm.id}?done=invited")
    view = program_view(db, principal, partner_id=firm.id)
    return _page(request, db, principal, view, invite=entered, error=message, status_code=422)


@router.post("/program/{partner_id}/people/{person_id}/left")
def person_left(
    request: Request, db: DbSession, form: Posted, partner_id: str, person_id: str
) -> Response:
    """Record that a person left the firm: they stop counting for it; their badges stay theirs."""
    posted = signed_form(request, db, form)
    if isinstance(posted, Response):
        return posted
    principal = posted.principal
    firm = partners.get_partner(db, principal, partner_id=partner_id)
    person = partners.get_person(db, principal, person_id=person_id)
    if person.partner_id != firm.id:
        view = program_view(db, principal, partner_id=firm.id)
        return _page(
            request,
            db,
            principal,
            view,
            error=N_("That person does not work here."),
            status_code=409,
        )
    employment.person_leaves_partner(db, principal, person_id=person.id)
    return redirect(f"/program/{firm.id}?done=left")
