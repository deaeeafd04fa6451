"""Recording assessments and issuing awards from a person's page, and an award's page with
revoking, suspending, reinstating and renewing it.

Issuing has a preview step: the GET form shows what the eligibility check says for the chosen
certification before anything is posted. After each change the award's page links to the
public credential page, which shows the change.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.errors import CharterError, NotFound
from charter.core.pagination import MAX_LIMIT
from charter.credentials import eligibility
from charter.credentials import service as credentials
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.credentials.schemas import AwardCreate
from charter.deps import DbSession, api_router
from charter.partners import service as partners
from charter.partners.models import Person
from charter.programs import service as programs
from charter.programs.enums import AssessmentKind
from charter.programs.schemas import AssessmentCreate
from charter.web.i18n import N_
from charter.web.pages import language_of, redirect, render
from charter.web.portal.access import not_found_page
from charter.web.portal.forms import FormErrors, attempt, blank, errors_of, parse, staff_only
from charter.web.portal.posted import Posted, fields, signed_form

router = api_router(include_in_schema=False)

ASSESSMENT_FIELDS = fields(
    "kind",
    "code",
    "score",
    "passed",
    "assessor",
    "occurred_at",
    "evidence_url",
    "external_id",
)
ASSESSMENT_PATHS = {name: name for name in ASSESSMENT_FIELDS} | {"person_id": "_form"}
AWARD_FIELDS = fields("certification_id", "external_id", "override_reason")
REASON_FIELDS = fields("reason")
AWARD_PATHS = {
    "certification_id": "certification_id",
    "external_id": "external_id",
    "override_reason": "override_reason",
    "person_id": "_form",
}
ACTIONS = {
    "revoke": "revoked",
    "suspend": "suspended",
    "reinstate": "reinstated",
    "renew": "renewed",
}


def _occurred_at(value: str) -> datetime | str:
    """A date or date-and-time field as UTC; anything else goes to the schema to refuse."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if len(text) == 10:
        parsed = datetime.combine(parsed.date(), time(12), tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _person(request: Request, db: Session, person_id: str) -> tuple[Principal, Person] | Response:
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    return principal, partners.get_person(db, principal, person_id=person_id)


def _assessment_form(
    request: Request,
    principal: Principal,
    person: Person,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "portal/assessment_new.html",
        {
            "principal": principal,
            "person": person,
            "values": values,
            "errors": errors,
            "kinds": [(kind.value, kind.value) for kind in AssessmentKind],
            "results": [
                (value, language_of(request).text(label))
                for value, label in (("yes", N_("passed")), ("no", N_("not passed")))
            ],
        },
        status_code=status_code,
    )


@router.get("/people/{person_id}/assessments/new")
def new_assessment(request: Request, db: DbSession, person_id: str) -> Response:
    """The form that records an assessment for a person."""
    found = _person(request, db, person_id)
    if not isinstance(found, tuple):
        return found
    principal, person = found
    if not principal.can(Permission.ASSESSMENTS_WRITE):
        return not_found_page(request, principal)
    return _assessment_form(request, principal, person, {"passed": "yes"}, {})


@router.post("/people/{person_id}/assessments")
def record_assessment(request: Request, db: DbSession, form: Posted, person_id: str) -> Response:
    """Record the assessment as the API does; the form again, errors by field, if refused."""
    posted = signed_form(request, db, form, ASSESSMENT_FIELDS, staff=True)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    person = partners.get_person(db, principal, person_id=person_id)
    principal.require(Permission.ASSESSMENTS_WRITE)
    passed = {"yes": True, "no": False}.get(values["passed"], values["passed"])
    try:
        data = parse(
            AssessmentCreate,
            {
                "person_id": person.id,
                "kind": values["kind"],
                "code": values["code"],
                "score": blank(values["score"]),
                "passed": passed,
                "assessor": values["assessor"],
                "occurred_at": _occurred_at(values["occurred_at"]),
                "evidence_url": blank(values["evidence_url"]),
                "external_id": blank(values["external_id"]),
            },
            ASSESSMENT_PATHS,
        )
        outcome = attempt(db, lambda: programs.record_assessment(db, principal, data=data))
        if isinstance(outcome, CharterError):
            raise FormErrors(errors_of(outcome, ASSESSMENT_PATHS))
    except FormErrors as refused:
        return _assessment_form(request, principal, person, values, refused.errors, status_code=422)
    return redirect(f"/people/{person.id}#assessments")


def _award_form(
    request: Request,
    db: Session,
    principal: Principal,
    person: Person,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    """The issue form; with a certification chosen, what the eligibility check says now."""
    offered = programs.list_certifications(db, principal, retired=False, limit=MAX_LIMIT).items
    check = None
    chosen = None
    if values.get("certification_id"):
        try:
            chosen = programs.get_certification(
                db, principal, certification_id=values["certification_id"]
            )
            check = eligibility.check_eligibility(
                db, principal, person_id=person.id, certification_id=chosen.id
            )
        except NotFound:
            errors = {**errors, "certification_id": N_("no such certification")}
    return render(
        request,
        "portal/award_new.html",
        {
            "principal": principal,
            "person": person,
            "values": values,
            "errors": errors,
            "certifications": [(item.id, f"{item.name} ({item.code})") for item in offered],
            "chosen": chosen,
            "check": check,
            "may_override": principal.can(Permission.AWARDS_OVERRIDE),
        },
        status_code=status_code,
    )


@router.get("/people/{person_id}/awards/new")
def new_award(
    request: Request, db: DbSession, person_id: str, certification_id: str | None = None
) -> Response:
    """Choose a certification and see the eligibility check before issuing."""
    found = _person(request, db, person_id)
    if not isinstance(found, tuple):
        return found
    principal, person = found
    if not principal.can(Permission.AWARDS_ISSUE):
        return not_found_page(request, principal)
    values = {"certification_id": (certification_id or "")[:40]}
    return _award_form(request, db, principal, person, values, {})


@router.post("/people/{person_id}/awards")
def issue_award(request: Request, db: DbSession, form: Posted, person_id: str) -> Response:
    """Issue the award; the preview again, with the refusal, if the service refuses it."""
    posted = signed_form(request, db, form, AWARD_FIELDS, staff=True)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    person = partners.get_person(db, principal, person_id=person_id)
    principal.require(Permission.AWARDS_ISSUE)
    try:
        data = parse(
            AwardCreate,
            {
                "person_id": person.id,
                "certification_id": values["certification_id"],
                "external_id": blank(values["external_id"]),
                "override_reason": blank(values["override_reason"]),
            },
            AWARD_PATHS,
        )
        award = attempt(db, lambda: credentials.issue_award(db, principal, data=data))
        if isinstance(award, CharterError):
            raise FormErrors(errors_of(award, AWARD_PATHS))
    except FormErrors as refused:
        return _award_form(request, db, principal, person, values, refused.errors, 422)
    return redirect(f"/awards/{award.id}?done=issued")


def _award_page(
    request: Request,
    db: Session,
    principal: Principal,
    award: Award,
    *,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    status_code: int = 200,
) -> Response:
    certification = programs.get_certification(
        db, principal, certification_id=award.certification_id
    )
    person = (
        partners.get_person(db, principal, person_id=award.person_id) if award.person_id else None
    )
    link = credentials.credential_links(db, principal, award_ids=[award.id]).get(award.id)
    status = credentials.effective_status_of(award)
    may_revoke = principal.can(Permission.AWARDS_REVOKE)
    shown = {
        "suspend": may_revoke and status is AwardStatus.ACTIVE,
        "reinstate": may_revoke and status is AwardStatus.SUSPENDED,
        "revoke": may_revoke and status is not AwardStatus.REVOKED,
        "renew": principal.can(Permission.AWARDS_ISSUE) and status is AwardStatus.ACTIVE,
    }
    context: dict[str, Any] = {
        "principal": principal,
        "award": award,
        "status": status.value,
        "certification": certification,
        "person": person,
        "credential_path": f"/credentials/{link.id}" if link else None,
        "done": done if done in ACTIONS.values() or done == "issued" else None,
        "errors": errors or {},
        "failed": failed,
        # A refusal of a change whose form the new status no longer offers shows above them.
        "refusal": "; ".join((errors or {}).values()) if failed and not shown[failed] else None,
        "shown": shown,
    }
    return render(request, "portal/award.html", context, status_code=status_code)


@router.get("/awards/{award_id}")
def award_page(request: Request, db: DbSession, award_id: str, done: str | None = None) -> Response:
    """An award: its status and reason, its public credential page, and what may be done."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    award = credentials.get_award(db, principal, award_id=award_id)
    return _award_page(request, db, principal, award, done=done)


def _apply(db: Session, principal: Principal, award: Award, action: str, reason: str) -> Award:
    """The service call of an award's change ``action``."""
    if action == "revoke":
        return credentials.revoke_award(db, principal, award_id=award.id, reason=reason)
    if action == "suspend":
        return credentials.suspend_award(db, principal, award_id=award.id, reason=reason)
    if action == "reinstate":
        return credentials.reinstate_award(db, principal, award_id=award.id, reason=blank(reason))
    return credentials.renew_award(db, principal, award_id=award.id, override_reason=blank(reason))


def _change(
    request: Request, db: Session, form: dict[str, str], award_id: str, action: str
) -> Response:
    posted = signed_form(request, db, form, REASON_FIELDS, staff=True)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    award = credentials.get_award(db, principal, award_id=award_id)
    outcome = attempt(db, lambda: _apply(db, principal, award, action, values["reason"]))
    if isinstance(outcome, CharterError):
        db.expire(award)
        fields_at_fault = {"reason": f"{action}-reason", "override_reason": f"{action}-reason"}
        errors = {
            (key if key != "_form" else f"{action}-reason"): value
            for key, value in errors_of(outcome, fields_at_fault).items()
        }
        return _award_page(
            request, db, principal, award, errors=errors, failed=action, status_code=422
        )
    return redirect(f"/awards/{award.id}?done={ACTIONS[action]}")


@router.post("/awards/{award_id}/revoke")
def revoke_award(request: Request, db: DbSession, form: Posted, award_id: str) -> Response:
    """Revoke the award for good; a reason is required."""
    return _change(request, db, form, award_id, "revoke")


@router.post("/awards/{award_id}/suspend")
def suspend_award(request: Request, db: DbSession, form: Posted, award_id: str) -> Response:
    """Suspend the award; a reason is required."""
    return _change(request, db, form, award_id, "suspend")


@router.post("/awards/{award_id}/reinstate")
def reinstate_award(request: Request, db: DbSession, form: Posted, award_id: str) -> Response:
    """Make a suspended award active again."""
    return _change(request, db, form, award_id, "reinstate")


@router.post("/awards/{award_id}/renew")
def renew_award(request: Request, db: DbSession, form: Posted, award_id: str) -> Response:
    """Renew the award inside its renewal window."""
    return _change(request, db, form, award_id, "renew")
