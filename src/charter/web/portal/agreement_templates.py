"""Agreement templates on pages, for vendor staff: a template's versions with the agreements
signed on each; for agreements:manage, creating a template (with its first version) and
publishing a new version; for agreements:sign, recording a firm's signature.

The signature form chooses its firm without scripts among thousands: a search by name
(``?firm_q=``, through the partners service) offers the first matches as choices, and a page
opened from a firm (``?partner_id=``) starts with that firm chosen."""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.errors import CharterError, Conflict, Invalid, NotFound, RequirementsNotMet
from charter.deps import DbSession, api_router
from charter.licensing import agreements, products
from charter.licensing.models import AgreementTemplate
from charter.licensing.schemas import AgreementSign, TemplateCreate, VersionCreate
from charter.partners import firms
from charter.partners import service as partners
from charter.partners.models import Partner
from charter.web.i18n import N_
from charter.web.pages import redirect, render
from charter.web.portal import agreement_terms
from charter.web.portal.access import not_found_page
from charter.web.portal.forms import FormErrors, attempt, blank, errors_of, parse, staff_only
from charter.web.portal.posted import Posted, fields, signed_form

router = api_router(include_in_schema=False)

IdQuery = Annotated[str | None, Query(max_length=40)]
SearchQuery = Annotated[str | None, Query(max_length=200)]
SHOWN = 200
FIRMS_OFFERED = 20
"""The most firms a search by name offers to choose among (type more of the name for others)."""
TEMPLATE_FIELDS = ("code", "name", "product_id")
CREATE_PATHS = {
    "code": "code",
    "name": "name",
    "product_id": "product_id",
    **agreement_terms.paths("version."),
}
PUBLISH_PATHS = agreement_terms.paths()
SIGN_FIELDS = ("partner_id", "version", "signer_name", "signer_email", "signer_title")
SIGN_PATHS = {name: name for name in SIGN_FIELDS} | {"template_id": "version"}
FIRM_QUERY = "firm_q"
"""The signature form posts back the search it was chosen from, to offer the same firms again."""


@dataclass(frozen=True, slots=True)
class FirmOption:
    """A firm the signature form offers to choose; ``eligible``: its status lets it sign."""

    id: str
    name: str
    status: str
    eligible: bool


@dataclass(slots=True)
class FirmChoice:
    """The firm part of the signature form: what was searched, the firms offered, whether more
    match than are offered, and a refused search's message."""

    query: str = ""
    options: list[FirmOption] | None = None
    more: bool = False
    error: str | None = None


def _option(firm: Partner) -> FirmOption:
    return FirmOption(firm.id, firm.name, firm.status, firm.status in agreements.SIGNING_STATUSES)


def _firm_choice(db: Session, principal: Principal, query: str, chosen: str) -> FirmChoice:
    """The firms matching ``query`` by name (at most ``FIRMS_OFFERED``), the ``chosen`` one
    first, found through the partners service as the firms list finds them."""
    choice = FirmChoice(query=query)
    if not principal.can(Permission.PARTNERS_READ):
        return choice
    offered: list[FirmOption] = []
    if chosen:
        with suppress(NotFound):  # an unknown id stays typed in its box, with its error
            offered.append(_option(partners.get_partner(db, principal, partner_id=chosen)))
    if query:
        try:
            found = firms.list_partners(db, principal, q=query, limit=FIRMS_OFFERED)
        except Invalid as refused:
            choice.error = refused.errors[0].detail if refused.errors else refused.detail
        else:
            choice.more = found.next_cursor is not None
            matches = sorted(found.items, key=lambda firm: (firm.name.casefold(), firm.id))
            offered += [_option(firm) for firm in matches if firm.id != chosen]
    if offered or query:
        choice.options = offered
    return choice


def _product_options(db: Session, principal: Principal) -> list[tuple[str, str]]:
    listed = products.list_products(db, principal, limit=SHOWN).items
    return [(item["id"], f"{item['name']} ({item['code']})") for item in listed]


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
        "portal/agreement_template_new.html",
        {
            "principal": principal,
            "values": values,
            "errors": errors,
            "products": _product_options(db, principal),
            **agreement_terms.choices(db),
        },
        status_code=status_code,
    )


@router.get("/licensing/templates/new")
def new_template(request: Request, db: DbSession, product_id: IdQuery = None) -> Response:
    """The form that creates an agreement template with its first version."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    if not principal.can(Permission.AGREEMENTS_MANAGE):
        return not_found_page(request, principal)
    values = {**agreement_terms.DEFAULTS, "product_id": product_id or ""}
    return _new_form(request, db, principal, values, {})


def _conflict_on(field: str, outcome: CharterError, paths: dict[str, str]) -> dict[str, str]:
    """A refusal keyed by form field; a conflict (a code in use, say) is ``field``'s."""
    if isinstance(outcome, Conflict):
        return {field: outcome.detail}
    return errors_of(outcome, paths)


@router.post("/licensing/templates")
def create_template(request: Request, db: DbSession, form: Posted) -> Response:
    """Create the template; the form again, with each error by its field, if refused."""
    posted = signed_form(
        request,
        db,
        form,
        fields(*TEMPLATE_FIELDS, *agreement_terms.VERSION_FIELDS),
        staff=True,
        permission=Permission.AGREEMENTS_MANAGE,
    )
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    try:
        data = parse(
            TemplateCreate,
            {
                "code": values["code"],
                "name": values["name"],
                "product_id": values["product_id"],
                "version": agreement_terms.version_input(values),
            },
            CREATE_PATHS,
        )
        created = attempt(db, lambda: agreements.create_template(db, principal, data=data))
        if isinstance(created, CharterError):
            raise FormErrors(_conflict_on("code", created, CREATE_PATHS))
    except FormErrors as refused:
        return _new_form(request, db, principal, values, refused.errors, status_code=422)
    return redirect(f"/licensing/templates/{created.id}")


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    template: AgreementTemplate,
    *,
    publish: dict[str, str] | None = None,
    sign: dict[str, str] | None = None,
    publish_errors: dict[str, str] | None = None,
    sign_errors: dict[str, str] | None = None,
    firm_q: str = "",
    status_code: int = 200,
) -> Response:
    sign = sign or {}
    firm_choice = FirmChoice()
    if principal.can(Permission.AGREEMENTS_SIGN):
        chosen = blank(sign.get("partner_id")) or ""
        firm_choice = _firm_choice(db, principal, firm_q.strip(), chosen)
    versions = agreements.list_versions(db, principal, template_id=template.id)
    signed = agreements.list_agreements(db, principal, template_id=template.id, limit=SHOWN)
    by_version: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in signed.items:
        by_version[item["version_id"]].append(item)
    latest = versions[-1][0] if versions else None
    if publish is None:
        publish = (
            agreement_terms.version_values(latest.terms, latest.requirements)
            if latest is not None
            else dict(agreement_terms.DEFAULTS)
        )
    return render(
        request,
        "portal/agreement_template.html",
        {
            "principal": principal,
            "template": template,
            "product": products.get_product(db, principal, product_id=template.product_id),
            "versions": list(reversed(versions)),
            "by_version": by_version,
            "more_agreements": signed.next_cursor is not None,
            "may_publish": principal.can(Permission.AGREEMENTS_MANAGE),
            "may_sign": principal.can(Permission.AGREEMENTS_SIGN),
            "may_issue": principal.can(Permission.LICENSES_MANAGE),
            "publish": publish,
            "sign": sign,
            "firm_choice": firm_choice,
            "publish_errors": publish_errors or {},
            "sign_errors": sign_errors or {},
            **agreement_terms.choices(db),
        },
        status_code=status_code,
    )


@router.get("/licensing/templates/{template_id}")
def template_page(
    request: Request,
    db: DbSession,
    template_id: str,
    partner_id: IdQuery = None,
    firm_q: SearchQuery = None,
) -> Response:
    """A template: its versions, newest first, each with the agreements signed on it; the
    signature form offers the firms whose name holds ``firm_q``, ``partner_id`` chosen."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    template = agreements.get_template(db, principal, template_id=template_id)
    return _page(
        request,
        db,
        principal,
        template,
        sign={"partner_id": partner_id or ""},
        firm_q=firm_q or "",
    )


@router.post("/licensing/templates/{template_id}/versions")
def publish_version(request: Request, db: DbSession, form: Posted, template_id: str) -> Response:
    """Publish a new version; the firms holding an agreement on the template are told."""
    posted = signed_form(request, db, form, fields(*agreement_terms.VERSION_FIELDS), staff=True)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    template = agreements.get_template(db, principal, template_id=template_id)
    principal.require(Permission.AGREEMENTS_MANAGE)
    try:
        data = parse(VersionCreate, agreement_terms.version_input(values), PUBLISH_PATHS)
        outcome = attempt(
            db,
            lambda: agreements.publish_version(db, principal, template_id=template.id, data=data),
        )
        if isinstance(outcome, CharterError):
            raise FormErrors(errors_of(outcome, PUBLISH_PATHS))
    except FormErrors as refused:
        return _page(
            request,
            db,
            principal,
            template,
            publish=values,
            publish_errors=refused.errors,
            status_code=422,
        )
    return redirect(f"/licensing/templates/{template.id}#versions")


@router.post("/licensing/templates/{template_id}/agreements")
def sign_agreement(request: Request, db: DbSession, form: Posted, template_id: str) -> Response:
    """Record that a firm signs the template (the version in force unless one is named)."""
    posted = signed_form(
        request, db, form, fields(*SIGN_FIELDS, FIRM_QUERY, longest=500), staff=True
    )
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    template = agreements.get_template(db, principal, template_id=template_id)
    principal.require(Permission.AGREEMENTS_SIGN)
    partner_id = (blank(values["partner_id"]) or "").strip()
    try:
        if not partner_id:
            raise FormErrors({"partner_id": N_("choose the firm that signs: find it by name")})
        try:
            partners.get_partner(db, principal, partner_id=partner_id)
        except NotFound:
            raise FormErrors({"partner_id": f"no firm with id {partner_id}"}) from None
        data = parse(
            AgreementSign,
            {
                "template_id": template.id,
                "version": blank(values["version"]),
                "signer_name": values["signer_name"],
                "signer_email": values["signer_email"],
                "signer_title": blank(values["signer_title"]),
            },
            SIGN_PATHS,
        )
        outcome = attempt(
            db, lambda: agreements.sign_agreement(db, principal, partner_id=partner_id, data=data)
        )
        if isinstance(outcome, RequirementsNotMet | Conflict):
            # The firm's status, its standing or an agreement it holds: the firm's field.
            raise FormErrors({"partner_id": outcome.detail})
        if isinstance(outcome, CharterError):
            raise FormErrors(errors_of(outcome, SIGN_PATHS))
    except FormErrors as refused:
        return _page(
            request,
            db,
            principal,
            template,
            sign=values,
            sign_errors=refused.errors,
            firm_q=values[FIRM_QUERY],
            status_code=422,
        )
    return redirect(f"/licensing/templates/{template.id}#agreement-{outcome.id}")
