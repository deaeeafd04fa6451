"""The partners list for vendor staff, and a firm's page (a partner user's own firm included)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.core.pagination import DEFAULT_LIMIT, Page
from charter.deps import Cursor, DbSession, api_router
from charter.partners import service as partners
from charter.partners import taxonomy
from charter.partners.enums import PartnerStatus, TaxonomyKind
from charter.partners.models import Partner
from charter.tiers import listing
from charter.tiers import service as tiers
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.access import is_staff, not_found_page
from charter.web.portal.csvexport import EXPORT_PAGE, Row, RowsPage, csv_response, export_rows
from charter.web.portal.filters import (
    blank_to_none,
    choice,
    code_choice,
    taxonomy_labels,
    url_with,
)
from charter.web.portal.firm import firm_view
from charter.web.portal.posted import Posted, signed_form

router = api_router(include_in_schema=False)

Text = Annotated[str | None, Query(max_length=200)]
CSV_HEADER = ("id", "name", "type", "status", "country", "regions", "tiers", "website")
Filters = dict[str, str | None]


def _list(
    db: Session, principal: Principal, filters: Filters, *, cursor: str | None, limit: int
) -> Page[Partner]:
    lists = taxonomy.read(db)
    return listing.list_partners(
        db,
        principal,
        q=filters["q"],
        status=choice(PartnerStatus, filters["status"], "status"),
        type=code_choice(lists.all(TaxonomyKind.PARTNER_TYPE), filters["type"], "type"),
        region=code_choice(lists.all(TaxonomyKind.REGION), filters["region"], "region"),
        tier=filters["tier"],
        cursor=cursor,
        limit=limit,
    )


def _csv_page(db: Session, principal: Principal, filters: Filters, cursor: str | None) -> RowsPage:
    page = _list(db, principal, filters, cursor=cursor, limit=EXPORT_PAGE)
    held = listing.held_tier_names(db, principal, partner_ids=[firm.id for firm in page.items])
    rows: list[Row] = [
        (
            firm.id,
            firm.name,
            firm.type,
            firm.status,
            firm.country,
            " ".join(firm.regions),
            "; ".join(held.get(firm.id, [])),
            firm.website or "",
        )
        for firm in page.items
    ]
    return rows, page.next_cursor


@router.get("/partners")
def partners_list(
    request: Request,
    db: DbSession,
    q: Text = None,
    status: Text = None,
    type: Text = None,
    region: Text = None,
    tier: Text = None,
    cursor: Cursor = None,
    format: Text = None,
) -> Response:
    """Partner firms for vendor staff: search, filters and pages, each view a shareable URL.

    ``format=csv`` downloads every firm the filters match.
    """
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    if not is_staff(principal):
        return not_found_page(request, principal)
    filters: Filters = {
        "q": blank_to_none(q),
        "status": blank_to_none(status),
        "type": blank_to_none(type),
        "region": blank_to_none(region),
        "tier": blank_to_none(tier),
    }
    if format == "csv":
        first = _csv_page(db, principal, filters, None)
        rows = export_rows(
            request, first, lambda session, after: _csv_page(session, principal, filters, after)
        )
        return csv_response("partners.csv", CSV_HEADER, rows)
    page = _list(db, principal, filters, cursor=cursor, limit=DEFAULT_LIMIT)
    held = listing.held_tier_names(db, principal, partner_ids=[firm.id for firm in page.items])
    next_url = url_with("/partners", filters, cursor=page.next_cursor) if page.next_cursor else None
    labels = taxonomy_labels(db)
    lists = taxonomy.read(db)
    return render(
        request,
        "portal/partners.html",
        {
            **labels,
            "principal": principal,
            "page": page,
            "held": held,
            "filters": filters,
            "statuses": list(PartnerStatus),
            "types": lists.all(TaxonomyKind.PARTNER_TYPE),
            "regions": lists.all(TaxonomyKind.REGION),
            "tiers": listing.tier_choices(db, principal),
            "next_url": next_url,
            "first_url": url_with("/partners", filters) if cursor else None,
            "csv_url": url_with("/partners", filters, format="csv"),
        },
    )


@router.get("/partners/{partner_id}")
def partner_page(request: Request, db: DbSession, partner_id: str) -> Response:
    """A firm: its people, certifications, tier, onboarding and history."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    view = firm_view(db, principal, partner_id=partner_id)
    context = {"principal": principal, "view": view, **taxonomy_labels(db)}
    return render(request, "portal/partner.html", context)


@router.post("/partners/{partner_id}/evaluate")
def evaluate_partner(request: Request, db: DbSession, form: Posted, partner_id: str) -> Response:
    """Re-evaluate a firm's tiers now, then show its page again."""
    posted = signed_form(request, db, form)
    if isinstance(posted, Response):
        return posted
    principal = posted.principal
    firm = partners.get_partner(db, principal, partner_id=partner_id)
    tiers.evaluate_firm(db, principal, partner_id=firm.id)
    return redirect(f"/partners/{firm.id}")
