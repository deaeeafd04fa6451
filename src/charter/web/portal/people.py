"""The people list (search, filter by firm) and a person's page: their awards and assessments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from charter.credentials import issuance
from charter.credentials import service as credentials
from charter.deps import Cursor, DbSession, api_router
from charter.partners import firms, people, taxonomy
from charter.partners import service as partners
from charter.partners.enums import TaxonomyKind
from charter.partners.models import Partner, Person
from charter.programs import service as programs
from charter.programs.models import Assessment, Certification
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.csvexport import EXPORT_PAGE, Row, RowsPage, csv_response, export_rows
from charter.web.portal.filters import blank_to_none, code_choice, taxonomy_labels, url_with

router = api_router(include_in_schema=False)

Text = Annotated[str | None, Query(max_length=200)]
CSV_HEADER = ("id", "given_name", "family_name", "track", "partner_id", "partner", "email")
Filters = dict[str, str | None]
FIRMS_OFFERED = MAX_LIMIT
"""Firms the partner filter offers as a list; it takes a firm's id beyond them."""
SHOWN = 200


def _list(
    db: Session, principal: Principal, filters: Filters, *, cursor: str | None, limit: int
) -> Page[Person]:
    return people.list_people(
        db,
        principal,
        partner_id=filters["partner_id"],
        track=code_choice(taxonomy.read(db).all(TaxonomyKind.TRACK), filters["track"], "track"),
        q=filters["q"],
        cursor=cursor,
        limit=limit,
    )


def _firm_names(db: Session, principal: Principal, page: Page[Person]) -> dict[str, str]:
    wanted = (person.partner_id for person in page.items if person.partner_id)
    return partners.partner_names(db, principal, wanted)


def _csv_page(db: Session, principal: Principal, filters: Filters, cursor: str | None) -> RowsPage:
    page = _list(db, principal, filters, cursor=cursor, limit=EXPORT_PAGE)
    names = _firm_names(db, principal, page) if principal.can(Permission.PARTNERS_READ) else {}
    rows: list[Row] = [
        (
            person.id,
            person.given_name,
            person.family_name,
            person.track,
            person.partner_id or "",
            names.get(person.partner_id or "", ""),
            person.primary_email or "",
        )
        for person in page.items
    ]
    return rows, page.next_cursor


def _firms_offered(db: Session, principal: Principal) -> list[Partner]:
    if not principal.can(Permission.PARTNERS_READ) or principal.partner_scope is not None:
        return []
    offered = firms.list_partners(db, principal, limit=FIRMS_OFFERED).items
    return sorted(offered, key=lambda firm: firm.name.casefold())


@router.get("/people")
def people_list(
    request: Request,
    db: DbSession,
    q: Text = None,
    partner_id: Text = None,
    track: Text = None,
    cursor: Cursor = None,
    format: Text = None,
) -> Response:
    """People: search by name or email, filter by firm and track; ``format=csv`` downloads."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    filters: Filters = {
        "q": blank_to_none(q),
        "partner_id": blank_to_none(partner_id),
        "track": blank_to_none(track),
    }
    if format == "csv":
        first = _csv_page(db, principal, filters, None)
        rows = export_rows(
            request, first, lambda session, after: _csv_page(session, principal, filters, after)
        )
        return csv_response("people.csv", CSV_HEADER, rows)
    page = _list(db, principal, filters, cursor=cursor, limit=DEFAULT_LIMIT)
    names = _firm_names(db, principal, page) if principal.can(Permission.PARTNERS_READ) else {}
    next_url = url_with("/people", filters, cursor=page.next_cursor) if page.next_cursor else None
    return render(
        request,
        "portal/people.html",
        {
            "principal": principal,
            "page": page,
            "names": names,
            "filters": filters,
            **taxonomy_labels(db),
            "tracks": taxonomy.read(db).all(TaxonomyKind.TRACK),
            "firms": _firms_offered(db, principal),
            "next_url": next_url,
            "first_url": url_with("/people", filters) if cursor else None,
            "csv_url": url_with("/people", filters, format="csv"),
        },
    )


@dataclass(frozen=True, slots=True)
class AwardLine:
    """An award on a person's page, with its certification and public credential page."""

    id: str
    status: str
    issued_at: datetime
    valid_until: datetime
    certification: Certification
    credential_url: str | None


def _awards(db: Session, principal: Principal, person: Person) -> list[AwardLine]:
    page = credentials.list_awards(db, principal, person_id=person.id, limit=SHOWN)
    lines = []
    certifications: dict[str, Certification] = {}
    for award in page.items:
        certification_id: str = award["certification_id"]
        if certification_id not in certifications:
            certifications[certification_id] = programs.get_certification(
                db, principal, certification_id=certification_id
            )
        credential = issuance.current_credential_for_award(db, award["id"])
        lines.append(
            AwardLine(
                id=award["id"],
                status=str(award["status"]),
                issued_at=award["issued_at"],
                valid_until=award["valid_until"],
                certification=certifications[certification_id],
                credential_url=f"/credentials/{credential.id}" if credential else None,
            )
        )
    return lines


def _assessments(db: Session, principal: Principal, person: Person) -> list[Assessment]:
    return list(programs.list_assessments(db, principal, person_id=person.id, limit=SHOWN).items)


@router.get("/people/{person_id}")
def person_page(request: Request, db: DbSession, person_id: str) -> Response:
    """A person: their firm, their awards (linked to the public credential pages), assessments."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    person = partners.get_person(db, principal, person_id=person_id)
    firm = None
    if person.partner_id and principal.can(Permission.PARTNERS_READ):
        firm = partners.get_partner(db, principal, partner_id=person.partner_id)
    staff = principal.partner_scope is None
    context: dict[str, Any] = {
        "principal": principal,
        "person": person,
        "firm": firm,
        "staff": staff,
        "may_issue": staff and principal.can(Permission.AWARDS_ISSUE),
        "may_assess": staff and principal.can(Permission.ASSESSMENTS_WRITE),
        **taxonomy_labels(db),
    }
    if principal.can(Permission.AWARDS_READ) and principal.can(Permission.CERTIFICATIONS_READ):
        context["awards"] = _awards(db, principal, person)
    if principal.can(Permission.ASSESSMENTS_READ):
        context["assessments"] = _assessments(db, principal, person)
    return render(request, "portal/person.html", context)
