"""The firm's directory listing as a form: partner admins for their own firm, staff for any.

The form posts to the same service as ``PATCH /api/v1/partners/{id}/listing``, so its checks
(permission, partner scope, slug clashes, plain-text blurb, http(s) website) are the API's.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict
from charter.deps import DbSession, api_router
from charter.partners import listing
from charter.partners import service as partners
from charter.partners.models import Partner
from charter.partners.schemas import MAX_BLURB_LENGTH, MAX_SLUG_LENGTH, ListingUpdate
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.posted import Posted, fields, signed_form

router = api_router(include_in_schema=False)

FORM_TEXT_LIMIT = 4000
LISTING_FIELDS = fields("listed") | fields("blurb", "website", "slug", longest=FORM_TEXT_LIMIT)


def _form(
    request: Request,
    db: Session,
    principal: Principal,
    firm: Partner,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    shown = listing.listing_out(db, firm)
    current = values or {
        "listed": firm.listed,
        "blurb": firm.blurb or "",
        "website": firm.website or "",
        "slug": firm.slug or "",
    }
    return render(
        request,
        "portal/listing.html",
        {
            "principal": principal,
            "firm": firm,
            "listing": shown,
            "values": current,
            "errors": errors or {},
            "saved": saved,
            "max_blurb": MAX_BLURB_LENGTH,
            "max_slug": MAX_SLUG_LENGTH,
        },
        status_code=status_code,
    )


def _editable(db: Session, principal: Principal, partner_id: str) -> Partner:
    """The firm, if the user may see it; :class:`Forbidden` unless they may edit it."""
    firm = partners.get_partner(db, principal, partner_id=partner_id)
    principal.require(Permission.PARTNERS_WRITE)
    return firm


@router.get("/partners/{partner_id}/listing")
def listing_form(request: Request, db: DbSession, partner_id: str) -> Response:
    """The firm's directory listing, as a form."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    firm = _editable(db, principal, partner_id)
    return _form(request, db, principal, firm, saved=request.query_params.get("saved") == "1")


@router.post("/partners/{partner_id}/listing")
def save_listing(request: Request, db: DbSession, form: Posted, partner_id: str) -> Response:
    """Save the listing; the form again, naming each field at fault, when it cannot be."""
    posted = signed_form(request, db, form, LISTING_FIELDS)
    if isinstance(posted, Response):
        return posted
    principal, entered = posted
    listed, blurb, website, slug = (entered[name] for name in LISTING_FIELDS)
    firm = _editable(db, principal, partner_id)
    values = {"listed": listed == "yes", "blurb": blurb, "website": website, "slug": slug}
    try:
        data = ListingUpdate(
            listed=listed == "yes",
            blurb=blurb.strip() or None,
            website=website.strip() or None,
            slug=slug.strip() or None,
        )
    except ValidationError as error:
        errors = {
            str(item["loc"][0]) if item["loc"] else "form": str(item["msg"])
            for item in error.errors()
        }
        return _form(request, db, principal, firm, values=values, errors=errors, status_code=422)
    try:
        listing.update_listing(db, principal, partner_id=firm.id, data=data)
    except Conflict as conflict:
        db.rollback()
        return _form(
            request,
            db,
            principal,
            partners.get_partner(db, principal, partner_id=partner_id),
            values=values,
            errors={"slug": conflict.detail},
            status_code=409,
        )
    return redirect(f"/partners/{firm.id}/listing?saved=1")
