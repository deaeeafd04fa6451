"""Issuing and renewing licenses on pages (licenses:manage): a license for a firm under one
of its signed agreements, its key shown this once on the page that answers, and a renewal to
a new end of term."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.errors import CharterError, Conflict, NotFound
from charter.deps import DbSession, api_router
from charter.licensing import agreements
from charter.licensing import service as licensing
from charter.licensing.enums import AgreementStatus, SeatModel
from charter.licensing.schemas import LicenseCreate, LicenseRenew
from charter.partners import service as partners
from charter.web.pages import redirect, render
from charter.web.portal.access import not_found_page
from charter.web.portal.agreement_terms import day_end, items, region_choices
from charter.web.portal.forms import FormErrors, attempt, blank, errors_of, parse, staff_only
from charter.web.portal.licensing import license_view
from charter.web.portal.posted import Posted, fields, signed_form

router = api_router(include_in_schema=False)

IdQuery = Annotated[str | None, Query(max_length=40)]
SHOWN = 200
ISSUE_FIELDS = ("agreement_id", "seats", "seat_model", "regions", "countries", "valid_until")
ISSUE_PATHS = {name: name for name in ISSUE_FIELDS}
RENEW_FIELDS = ("valid_until", "reason")
RENEW_PATHS = {name: name for name in RENEW_FIELDS}


def _agreement_options(
    db: Session, principal: Principal, wanted: str | None
) -> list[tuple[str, str]]:
    """The agreements in force a license may be issued under, labelled for people."""
    signed = list(
        agreements.list_agreements(db, principal, status=AgreementStatus.ACTIVE, limit=SHOWN).items
    )
    if wanted and all(item["id"] != wanted for item in signed):
        try:
            found = agreements.get_agreement(db, principal, agreement_id=wanted)
        except NotFound:
            found = None
        if found is not None and found.status == AgreementStatus.ACTIVE.value:
            columns = ("id", "partner_id", "template_id", "version")
            signed.append({column: getattr(found, column) for column in columns})
    templates = {
        item["id"]: item["name"]
        for item in agreements.list_templates(db, principal, limit=SHOWN).items
    }
    names: dict[str, str] = {}
    options = []
    for item in signed:
        firm = item["partner_id"]
        if firm not in names:
            try:
                names[firm] = partners.get_partner(db, principal, partner_id=firm).name
            except NotFound:
                names[firm] = firm
        template = templates.get(item["template_id"], item["template_id"])
        options.append((item["id"], f"{names[firm]}: {template}, version {item['version']}"))
    return sorted(options, key=lambda option: option[1].casefold())


def _new_form(
    request: Request,
    db: Session,
    principal: Principal,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "principal": principal,
        "values": values,
        "errors": errors,
        "agreements": _agreement_options(db, principal, values.get("agreement_id")),
        "seat_models": [(model.value, model.value.replace("_", "-")) for model in SeatModel],
        "regions": region_choices(db),
    }
    return render(request, "portal/license_new.html", context, status_code=status_code)


@router.get("/licenses/new")
def new_license(request: Request, db: DbSession, agreement_id: IdQuery = None) -> Response:
    """The form that issues a license under a firm's signed agreement."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    if not principal.can(Permission.LICENSES_MANAGE):
        return not_found_page(request, principal)
    values = {"agreement_id": agreement_id or "", "seats": "1", "seat_model": "node_locked"}
    return _new_form(request, db, principal, values, {})


def _list_or_none(value: str) -> list[str] | None:
    found = items(value)
    return found or None


@router.post("/licenses")
def issue_license(request: Request, db: DbSession, form: Posted) -> Response:
    """Issue the license; the answer shows its whole key, this once."""
    posted = signed_form(
        request,
        db,
        form,
        fields(*ISSUE_FIELDS, longest=2000),
        staff=True,
        permission=Permission.LICENSES_MANAGE,
    )
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    try:
        data = parse(
            LicenseCreate,
            {
                "agreement_id": values["agreement_id"],
                "seats": values["seats"],
                "seat_model": values["seat_model"],
                "regions": _list_or_none(values["regions"]),
                "countries": _list_or_none(values["countries"]),
                "valid_until": day_end(values["valid_until"], "valid_until"),
            },
            ISSUE_PATHS,
        )
        issued = attempt(db, lambda: licensing.issue_license(db, principal, data=data))
        if isinstance(issued, CharterError):
            raise FormErrors(
                {"agreement_id": issued.detail}
                if isinstance(issued, Conflict)
                else errors_of(issued, ISSUE_PATHS)
            )
    except FormErrors as refused:
        return _new_form(request, db, principal, values, refused.errors, status_code=422)
    license, key = issued
    return license_view(request, db, principal, license, key=key, status_code=201)


@router.post("/licenses/{license_id}/renew")
def renew_license(request: Request, db: DbSession, form: Posted, license_id: str) -> Response:
    """Renew to the date given, or by the agreement's term; the page again if refused."""
    posted = signed_form(request, db, form, fields(*RENEW_FIELDS, longest=2000), staff=True)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    license = licensing.get_license(db, principal, license_id=license_id)
    principal.require(Permission.LICENSES_MANAGE)
    try:
        asked: dict[str, Any] = {"valid_until": day_end(values["valid_until"], "valid_until")}
        if blank(values["reason"]) is not None:
            asked["reason"] = values["reason"]
        data = parse(LicenseRenew, asked, RENEW_PATHS)
        outcome = attempt(
            db,
            lambda: licensing.renew_license(
                db,
                principal,
                license_id=license.id,
                valid_until=data.valid_until,
                reason=data.reason,
            ),
        )
        if isinstance(outcome, CharterError):
            raise FormErrors(errors_of(outcome, RENEW_PATHS))
    except FormErrors as refused:
        return license_view(
            request,
            db,
            principal,
            license,
            renewal=values,
            renewal_errors=refused.errors,
            status_code=422,
        )
    return redirect(f"/licenses/{license.id}")
