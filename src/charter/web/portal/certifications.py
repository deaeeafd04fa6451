"""Certifications for vendor staff: the list, creating one, its page with the criteria
versions, and publishing a new version with the holders it affects."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.errors import CharterError, NotFound
from charter.core.pagination import DEFAULT_LIMIT
from charter.credentials import impact
from charter.deps import Cursor, DbSession, api_router
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.programs import service as programs
from charter.programs.enums import Level
from charter.programs.models import Certification
from charter.programs.schemas import CertificationCreate, CriteriaCreate
from charter.tiers import schemes
from charter.web.i18n import N_
from charter.web.pages import redirect, render
from charter.web.portal.access import not_found_page
from charter.web.portal.filters import taxonomy_labels, url_with
from charter.web.portal.forms import FormErrors, attempt, blank, errors_of, parse, staff_only
from charter.web.portal.posted import Posted, fields, signed_form

HOLDERS_SHOWN = 100
"""Judged holders listed on a certification's page; the counts cover every one judged."""

router = api_router(include_in_schema=False)

CERTIFICATION_FIELDS = (
    "code",
    "name",
    "track",
    "level",
    "description",
    "validity_days",
    "renewal_window_days",
)
REQUIREMENT_FIELDS = (
    "exam_code",
    "exam_min_score",
    "labs",
    "trainings",
    "customer_references",
    "prerequisites",
    "evidence_max_age_days",
)
CRITERIA_FIELDS = ("narrative", "effective_from", *REQUIREMENT_FIELDS)


def _requirement_paths(prefix: str) -> dict[str, str]:
    return {
        f"{prefix}assessments": "exam_code",
        f"{prefix}assessments.0.code": "exam_code",
        f"{prefix}assessments.0.min_score": "exam_min_score",
        f"{prefix}labs": "labs",
        f"{prefix}trainings": "trainings",
        f"{prefix}customer_references": "customer_references",
        f"{prefix}prerequisites": "prerequisites",
        f"{prefix}evidence_max_age_days": "evidence_max_age_days",
    }


CREATE_PATHS = {
    **{name: name for name in CERTIFICATION_FIELDS},
    "criteria.narrative": "narrative",
    "criteria.effective_from": "narrative",
    "criteria": "narrative",
    **_requirement_paths("criteria.requirements."),
}
PUBLISH_PATHS = {
    "narrative": "narrative",
    "effective_from": "effective_from",
    **_requirement_paths("requirements."),
}


def _codes(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(";") if item.strip()]


def _requirements(form: dict[str, str]) -> dict[str, Any]:
    """The requirements a criteria form describes, in the API's shape."""
    values: dict[str, Any] = {
        "labs": _codes(form.get("labs")),
        "trainings": _codes(form.get("trainings")),
        "prerequisites": _codes(form.get("prerequisites")),
    }
    exam = blank(form.get("exam_code"))
    score = blank(form.get("exam_min_score"))
    if exam is not None or score is not None:
        values["assessments"] = [{"code": exam or "", "min_score": score}]
    references = blank(form.get("customer_references"))
    if references is not None:
        values["customer_references"] = references
    max_age = blank(form.get("evidence_max_age_days"))
    if max_age is not None:
        values["evidence_max_age_days"] = max_age
    return values


def _effective_from(value: str | None) -> datetime | None:
    """A date field as the start of that day in UTC; blank means now."""
    text = blank(value)
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise FormErrors({"effective_from": N_("must be a date (YYYY-MM-DD)")}) from None
    return datetime.combine(day, time.min, tzinfo=UTC)


@router.get("/certifications")
def certifications_list(request: Request, db: DbSession, cursor: Cursor = None) -> Response:
    """Every certification, oldest first, with the form to create one for those who may."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    page = programs.list_certifications(db, principal, cursor=cursor, limit=DEFAULT_LIMIT)
    return render(
        request,
        "portal/certifications.html",
        {
            **taxonomy_labels(db),
            "principal": principal,
            "page": page,
            "may_write": principal.can(Permission.CERTIFICATIONS_WRITE),
            "next_url": url_with("/certifications", {}, cursor=page.next_cursor)
            if page.next_cursor
            else None,
            "first_url": "/certifications" if cursor else None,
        },
    )


def _new_form(
    request: Request,
    db: Session,
    principal: Principal,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "portal/certification_new.html",
        {
            "principal": principal,
            "values": values,
            "errors": errors,
            "tracks": [
                (option.code, option.label)
                for option in taxonomy.read(db).choices(
                    TaxonomyKind.TRACK, keep=[values.get("track", "")]
                )
            ],
            "levels": [(level.value, level.value) for level in Level],
        },
        status_code=status_code,
    )


@router.get("/certifications/new")
def new_certification(request: Request, db: DbSession) -> Response:
    """The form that creates a certification with its first criteria."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    if not principal.can(Permission.CERTIFICATIONS_WRITE):
        return not_found_page(request, principal)
    defaults = {"validity_days": "730", "renewal_window_days": "90"}
    return _new_form(request, db, principal, defaults, {})


@router.post("/certifications")
def create_certification(request: Request, db: DbSession, form: Posted) -> Response:
    """Create the certification; the form again, with each error by its field, if refused."""
    posted = signed_form(
        request,
        db,
        form,
        fields(*CERTIFICATION_FIELDS, *CRITERIA_FIELDS),
        staff=True,
        permission=Permission.CERTIFICATIONS_WRITE,
    )
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    try:
        data = parse(
            CertificationCreate,
            {
                **{name: values[name] for name in CERTIFICATION_FIELDS},
                "criteria": {
                    "narrative": values["narrative"],
                    "requirements": _requirements(values),
                },
            },
            CREATE_PATHS,
        )
        created = attempt(db, lambda: programs.create_certification(db, principal, data=data))
        if isinstance(created, CharterError):
            raise FormErrors(errors_of(created, CREATE_PATHS))
    except FormErrors as refused:
        return _new_form(request, db, principal, values, refused.errors, status_code=422)
    return redirect(f"/certifications/{created.id}")


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    certification: Certification,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    versions = programs.list_criteria(db, principal, certification_id=certification.id)
    try:
        in_force: str | None = programs.criteria_in_force(
            db, certification_id=certification.id, at=clock.now()
        ).id
    except NotFound:  # its only versions are scheduled ahead
        in_force = None
    latest = max(versions, key=lambda v: (v.effective_from, v.version)) if versions else None
    judged = None
    if latest is not None and principal.can(Permission.AWARDS_READ):
        judged = impact.criteria_impact(
            db, principal, certification_id=certification.id, criteria_version_id=latest.id
        )
    return render(
        request,
        "portal/certification.html",
        {
            **taxonomy_labels(db),
            "principal": principal,
            "certification": certification,
            "versions": list(reversed(versions)),
            "in_force": in_force,
            "scheduled": {
                version.id
                for version in versions
                if clock.ensure_utc(version.effective_from) > clock.now()
            },
            "latest": latest,
            "impact": judged,
            "shown_holders": _shown_holders(judged),
            "holders_shown_at_most": HOLDERS_SHOWN,
            "tiers": schemes.tiers_counting(
                db, principal, code=certification.code, track=certification.track
            )
            if principal.can(Permission.PARTNERS_READ)
            else [],
            "may_write": principal.can(Permission.CERTIFICATIONS_WRITE)
            and certification.retired_at is None,
            "values": values or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


def _shown_holders(judged: impact.CriteriaImpact | None) -> list[impact.AffectedHolder]:
    """The holders the page lists: those falling short first, then those meeting it, at most
    :data:`HOLDERS_SHOWN` (a page of thousands of rows helps nobody; the figures count all)."""
    if judged is None:
        return []
    ordered = sorted(judged.holders, key=lambda holder: holder.meets)
    return ordered[:HOLDERS_SHOWN]


@router.get("/certifications/{certification_id}")
def certification_page(request: Request, db: DbSession, certification_id: str) -> Response:
    """A certification: its facts, its criteria versions, and who the latest one affects."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    certification = programs.get_certification(db, principal, certification_id=certification_id)
    return _page(request, db, principal, certification)


@router.post("/certifications/{certification_id}/criteria")
def publish_criteria(
    request: Request, db: DbSession, form: Posted, certification_id: str
) -> Response:
    """Publish a new criteria version; its page then shows the holders it affects."""
    posted = signed_form(request, db, form, fields(*CRITERIA_FIELDS), staff=True)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    certification = programs.get_certification(db, principal, certification_id=certification_id)
    principal.require(Permission.CERTIFICATIONS_WRITE)
    try:
        data = parse(
            CriteriaCreate,
            {
                "narrative": values["narrative"],
                "requirements": _requirements(values),
                "effective_from": _effective_from(values["effective_from"]),
            },
            PUBLISH_PATHS,
        )
        outcome = attempt(
            db,
            lambda: programs.publish_criteria(
                db, principal, certification_id=certification.id, data=data
            ),
        )
        if isinstance(outcome, CharterError):
            raise FormErrors(errors_of(outcome, PUBLISH_PATHS))
    except FormErrors as refused:
        return _page(
            request,
            db,
            principal,
            certification,
            values=values,
            errors=refused.errors,
            status_code=422,
        )
    return redirect(f"/certifications/{certification.id}#impact")
