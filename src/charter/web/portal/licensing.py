"""Licensing on pages (licenses:read): agreement templates with their versions, signed
agreements, the licenses list and a license's page with its activations, usage against its
caps and alerts. Managers act there: alerts (acknowledge, resolve) and the license's lifecycle
(suspend, reinstate, revoke, each with a reason). Keys show by their first group; those with
license_keys:read may reveal the whole key, each reading recorded, as the API does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.errors import CharterError, Invalid
from charter.core.pagination import DEFAULT_LIMIT
from charter.deps import Cursor, DbSession, api_router
from charter.licensing import activations, agreements, alerts, usage
from charter.licensing import service as licensing
from charter.licensing.enums import AgreementStatus, LicenseStatus
from charter.licensing.models import License
from charter.web.i18n import N_
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.access import is_staff
from charter.web.portal.filters import blank_to_none, choice, url_with
from charter.web.portal.forms import attempt
from charter.web.portal.posted import Posted, signed_form

router = api_router(include_in_schema=False)

Text = Annotated[str | None, Query(max_length=200)]
REASON = {"reason": 2000}
NOTE = {"note": 2000}
SHOWN = 200
LIFECYCLE = {
    "suspend": licensing.suspend_license,
    "reinstate": licensing.reinstate_license,
    "revoke": licensing.revoke_license,
}


@router.get("/licensing/agreements")
def agreements_page(
    request: Request,
    db: DbSession,
    partner_id: Text = None,
    status: Text = None,
    cursor: Cursor = None,
) -> Response:
    """Agreement templates with their versions (the one in force marked), and signed
    agreements, filtered by firm and status."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    principal.require(Permission.LICENSES_READ)
    filters = {"partner_id": blank_to_none(partner_id), "status": blank_to_none(status)}
    templates = agreements.list_templates(db, principal, limit=SHOWN).items
    versions = {
        template["id"]: agreements.list_versions(db, principal, template_id=template["id"])
        for template in templates
    }
    signed = agreements.list_agreements(
        db,
        principal,
        partner_id=filters["partner_id"],
        status=choice(AgreementStatus, filters["status"], "status"),
        cursor=cursor,
        limit=DEFAULT_LIMIT,
    )
    base = "/licensing/agreements"
    return render(
        request,
        "portal/agreements.html",
        {
            "principal": principal,
            "templates": templates,
            "versions": versions,
            "signed": signed,
            "filters": filters,
            "statuses": list(AgreementStatus),
            "staff": is_staff(principal),
            "may_offer": is_staff(principal) and principal.can(Permission.AGREEMENTS_MANAGE),
            "next_url": url_with(base, filters, cursor=signed.next_cursor)
            if signed.next_cursor
            else None,
            "first_url": url_with(base, filters) if cursor else None,
        },
    )


@router.get("/licenses")
def licenses_list(
    request: Request,
    db: DbSession,
    partner_id: Text = None,
    product_id: Text = None,
    status: Text = None,
    cursor: Cursor = None,
) -> Response:
    """Licenses (never their keys), filtered by firm, product and status, each with the cap
    it has used the largest share of (read for the whole page at once)."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    principal.require(Permission.LICENSES_READ)
    filters = {
        "partner_id": blank_to_none(partner_id),
        "product_id": blank_to_none(product_id),
        "status": blank_to_none(status),
    }
    page = licensing.list_licenses(
        db,
        principal,
        partner_id=filters["partner_id"],
        product_id=filters["product_id"],
        status=choice(LicenseStatus, filters["status"], "status"),
        cursor=cursor,
        limit=DEFAULT_LIMIT,
    )
    return render(
        request,
        "portal/licenses.html",
        {
            "principal": principal,
            "page": page,
            "caps": usage.worst_caps(
                db, principal, license_ids=[item["id"] for item in page.items]
            ),
            "filters": filters,
            "statuses": list(LicenseStatus),
            "may_issue": is_staff(principal) and principal.can(Permission.LICENSES_MANAGE),
            "next_url": url_with("/licenses", filters, cursor=page.next_cursor)
            if page.next_cursor
            else None,
            "first_url": url_with("/licenses", filters) if cursor else None,
        },
    )


def license_view(
    request: Request,
    db: Session,
    principal: Principal,
    license: License,
    *,
    error: CharterError | None = None,
    key: str | None = None,
    renewal: dict[str, str] | None = None,
    renewal_errors: dict[str, str] | None = None,
    status_code: int | None = None,
) -> Response:
    """A license's page: ``key`` is its whole key, shown this once; ``renewal`` and
    ``renewal_errors`` the renewal form sent back refused."""
    context: dict[str, Any] = {
        "principal": principal,
        "license": license,
        "status": licensing.status_of(license),
        "activations": activations.list_activations(
            db, principal, license_id=license.id, limit=SHOWN
        ).items,
        "rollups": usage.list_usage(db, principal, license_id=license.id),
        "caps": usage.cap_standings(db, principal, license_id=license.id),
        "alerts": alerts.list_alerts(db, principal, license_id=license.id, limit=SHOWN).items,
        "may_manage": principal.can(Permission.LICENSES_MANAGE),
        "may_reveal": principal.can(Permission.LICENSE_KEYS_READ),
        "key": key,
        "error": error,
        "renewal": renewal or {},
        "renewal_errors": renewal_errors or {},
    }
    if status_code is None:
        status_code = error.status if error else 200
    return render(request, "portal/license.html", context, status_code=status_code)


@router.get("/licenses/{license_id}")
def license_page(request: Request, db: DbSession, license_id: str) -> Response:
    """A license: its terms, activations, usage against caps, alerts and lifecycle."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    license = licensing.get_license(db, principal, license_id=license_id)
    return license_view(request, db, principal, license)


@router.post("/licenses/{license_id}/key")
def reveal_key(request: Request, db: DbSession, form: Posted, license_id: str) -> Response:
    """Show the license's whole key (license_keys:read); the reading is recorded."""
    posted = signed_form(request, db, form)
    if isinstance(posted, Response):
        return posted
    principal = posted.principal
    key = licensing.reveal_key(db, principal, license_id=license_id)
    license = licensing.get_license(db, principal, license_id=license_id)
    return license_view(request, db, principal, license, key=key)


@router.post("/licenses/{license_id}/{action}")
def change_license(
    request: Request, db: DbSession, form: Posted, license_id: str, action: str
) -> Response:
    """Suspend, reinstate or revoke the license, saying why."""
    posted = signed_form(request, db, form, REASON)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    reason = values["reason"]
    license = licensing.get_license(db, principal, license_id=license_id)
    change = LIFECYCLE.get(action)
    if change is None:
        return license_view(
            request, db, principal, license, error=Invalid.field("action", N_("unknown action"))
        )
    principal.require(Permission.LICENSES_MANAGE)

    def run() -> License:
        if not reason.strip():
            raise Invalid.field("reason", N_("say why"))
        return change(db, principal, license_id=license.id, reason=reason.strip())

    outcome = attempt(db, run)
    if isinstance(outcome, CharterError):
        return license_view(request, db, principal, license, error=outcome)
    return redirect(f"/licenses/{license.id}")


@router.post("/licenses/{license_id}/alerts/{alert_id}/{action}")
def change_alert(
    request: Request, db: DbSession, form: Posted, license_id: str, alert_id: str, action: str
) -> Response:
    """Acknowledge an open alert, or resolve it saying how."""
    posted = signed_form(request, db, form, NOTE)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    note = values["note"]
    license = licensing.get_license(db, principal, license_id=license_id)
    alert = alerts.get_alert(db, principal, alert_id=alert_id)
    if alert.license_id != license.id or action not in ("acknowledge", "resolve"):
        return license_view(
            request, db, principal, license, error=Invalid.field("action", N_("unknown action"))
        )
    principal.require(Permission.LICENSES_MANAGE)

    def run() -> Any:
        if action == "acknowledge":
            return alerts.acknowledge_alert(
                db, principal, alert_id=alert.id, note=blank_to_none(note)
            )
        if not note.strip():
            raise Invalid.field("note", N_("say how it was resolved"))
        return alerts.resolve_alert(db, principal, alert_id=alert.id, note=note.strip())

    outcome = attempt(db, run)
    if isinstance(outcome, CharterError):
        return license_view(request, db, principal, license, error=outcome)
    return redirect(f"/licenses/{license.id}")
