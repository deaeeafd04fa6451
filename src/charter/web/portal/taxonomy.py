"""The program's taxonomy for vendor staff: its tracks, regions (with their countries) and
partner types. Program managers and admins add, change, reorder and retire entries; other
staff see the lists without the forms; partner users get "not found"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.csvimport import describe
from charter.core.errors import CharterError, FieldError, Invalid
from charter.deps import DbSession, api_router
from charter.partners import colours, taxonomy
from charter.partners.enums import TaxonomyKind
from charter.partners.taxonomy_schemas import (
    TaxonomyEntryCreate,
    TaxonomyEntryUpdate,
    TaxonomyOrder,
)
from charter.web.i18n import N_
from charter.web.pages import language_of, redirect, render
from charter.web.portal.forms import attempt, staff_only
from charter.web.portal.posted import Fields, Posted, fields, signed_form

router = api_router(include_in_schema=False)

ENTRY_FIELDS = fields("kind", "code", "label", "description", "countries", "colour", longest=2000)
MOVES = {"up": -1, "down": 1}
HEADINGS = {
    TaxonomyKind.TRACK: N_("Tracks"),
    TaxonomyKind.REGION: N_("Regions"),
    TaxonomyKind.PARTNER_TYPE: N_("Partner types"),
}


def _countries(value: str) -> list[str] | None:
    parts = [part.strip() for part in value.replace(";", ",").replace(" ", ",").split(",")]
    found = [part for part in parts if part]
    return found or None


def _checked(model: type[Any], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first.get("loc", ()))
        raise Invalid(describe(error), [FieldError(field, str(first.get("msg", "")))]) from None


def _kind(value: str) -> TaxonomyKind | None:
    try:
        return TaxonomyKind(value)
    except ValueError:
        return None


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    error: CharterError | None = None,
    status_code: int = 200,
) -> Response:
    lists = taxonomy.list_entries(db, principal)
    sections = [
        (kind, HEADINGS[kind], lists[name])
        for kind, name in (
            (TaxonomyKind.TRACK, "tracks"),
            (TaxonomyKind.REGION, "regions"),
            (TaxonomyKind.PARTNER_TYPE, "partner_types"),
        )
    ]
    return render(
        request,
        "portal/taxonomy.html",
        {
            "principal": principal,
            "sections": sections,
            "palette_colour": colours.palette_colour,
            "kinds": [
                (kind.value, language_of(request).text(HEADINGS[kind])) for kind in TaxonomyKind
            ],
            "may_manage": principal.can(Permission.TAXONOMY_MANAGE),
            "form": form or {},
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/taxonomy")
def taxonomy_page(request: Request, db: DbSession) -> Response:
    """The program's lists, each in its order, with the forms for those who may change them."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    return _page(request, db, principal)


def _refused(
    request: Request,
    db: Session,
    principal: Principal,
    outcome: object,
    form: dict[str, str] | None = None,
) -> Response | None:
    if isinstance(outcome, CharterError):
        return _page(request, db, principal, form=form, error=outcome, status_code=422)
    return None


@router.post("/taxonomy")
def add_entry(request: Request, db: DbSession, form: Posted) -> Response:
    """Add an entry at the end of its list; the page again with the error if refused."""
    posted = signed_form(
        request, db, form, ENTRY_FIELDS, staff=True, permission=Permission.TAXONOMY_MANAGE
    )
    if isinstance(posted, Response):
        return posted
    principal, values = posted

    def add() -> object:
        data = _checked(
            TaxonomyEntryCreate,
            {
                "kind": values["kind"],
                "code": values["code"],
                "label": values["label"],
                "description": values["description"].strip() or None,
                "countries": _countries(values["countries"]),
                "colour": values["colour"].strip() or None,
            },
        )
        return taxonomy.add_entry(db, principal, data=data)

    refused = _refused(request, db, principal, attempt(db, add), values)
    return refused or redirect("/taxonomy")


EntryChange = Callable[[Principal, TaxonomyKind, dict[str, str]], object]


def _change_entry(
    request: Request,
    db: Session,
    form: Posted,
    kind: str,
    wanted: Fields,
    change: EntryChange,
) -> Response:
    """The checks every change to one entry makes, then ``change`` in a savepoint: the list
    again, or the page with the error."""
    posted = signed_form(
        request, db, form, wanted, staff=True, permission=Permission.TAXONOMY_MANAGE
    )
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    chosen = _kind(kind)

    def run() -> object:
        if chosen is None:
            raise Invalid.field("kind", N_("must be track, region or partner_type"))
        return change(principal, chosen, values)

    refused = _refused(request, db, principal, attempt(db, run))
    return refused or redirect("/taxonomy")


@router.post("/taxonomy/{kind}/{code}")
def update_entry(request: Request, db: DbSession, form: Posted, kind: str, code: str) -> Response:
    """Change an entry's label, description, (a region's) countries and (a track's) badge
    colour."""

    def update(principal: Principal, chosen: TaxonomyKind, values: dict[str, str]) -> object:
        given: dict[str, Any] = {
            "label": values["label"],
            "description": values["description"].strip() or None,
        }
        if chosen is TaxonomyKind.REGION:
            given["countries"] = _countries(values["countries"]) or []
        if chosen is TaxonomyKind.TRACK:
            given["colour"] = values["colour"].strip() or None  # blank: the palette's
        data = _checked(TaxonomyEntryUpdate, given)
        return taxonomy.update_entry(db, principal, kind=chosen, code=code, data=data)

    wanted = fields("label", "description", "countries", "colour", longest=2000)
    return _change_entry(request, db, form, kind, wanted, update)


@router.post("/taxonomy/{kind}/{code}/retire")
def retire_entry(request: Request, db: DbSession, form: Posted, kind: str, code: str) -> Response:
    """Retire an entry (or, with ``restore``, offer it again)."""

    def retire(principal: Principal, chosen: TaxonomyKind, values: dict[str, str]) -> object:
        data = TaxonomyEntryUpdate(retired=values["restore"] != "yes")
        return taxonomy.update_entry(db, principal, kind=chosen, code=code, data=data)

    return _change_entry(request, db, form, kind, fields("restore", longest=10), retire)


@router.post("/taxonomy/{kind}/{code}/move")
def move_entry(request: Request, db: DbSession, form: Posted, kind: str, code: str) -> Response:
    """Move an entry one place up or down its list."""

    def move(principal: Principal, chosen: TaxonomyKind, values: dict[str, str]) -> object:
        step = MOVES.get(values["direction"])
        if step is None:
            raise Invalid.field("direction", N_("must be up or down"))
        codes = [choice.code for choice in taxonomy.read(db).all(chosen)]
        if code not in codes:
            raise Invalid.field("code", f"no {chosen.value.replace('_', ' ')} {code!r}")
        at = codes.index(code)
        to = min(max(at + step, 0), len(codes) - 1)
        codes.insert(to, codes.pop(at))
        return taxonomy.reorder_entries(db, principal, kind=chosen, data=TaxonomyOrder(codes=codes))

    return _change_entry(request, db, form, kind, fields("direction", longest=10), move)
