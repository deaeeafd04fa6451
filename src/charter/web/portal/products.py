"""Products on pages: the licensing catalogue for vendor staff, and for those who manage
products (products:manage) the form that creates one with its licensable features."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.errors import CharterError, Conflict
from charter.deps import Cursor, DbSession, api_router
from charter.licensing import products
from charter.licensing.schemas import ProductCreate
from charter.web.pages import redirect, render
from charter.web.portal.filters import url_with
from charter.web.portal.forms import FormErrors, attempt, errors_of, parse, staff_only
from charter.web.portal.posted import Posted, fields, signed_form

router = api_router(include_in_schema=False)

PATH = "/licensing/products"
SHOWN = 100
PRODUCT_FIELDS = ("code", "name", "description", "features")
PATHS = {"code": "code", "name": "name", "description": "description", "features": "features"}


def features_of(text: str) -> list[dict[str, str]]:
    """One feature a line: ``key | name | description`` (the name defaults to the key)."""
    found: list[dict[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        key, _, rest = line.partition("|")
        name, _, description = rest.partition("|")
        found.append(
            {
                "key": key.strip(),
                "name": name.strip() or key.strip(),
                "description": description.strip(),
            }
        )
    return found


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    cursor: str | None,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    page = products.list_products(db, principal, cursor=cursor, limit=SHOWN)
    context: dict[str, Any] = {
        "principal": principal,
        "page": page,
        "may_write": principal.can(Permission.PRODUCTS_MANAGE),
        "may_offer": principal.can(Permission.AGREEMENTS_MANAGE),
        "values": values or {},
        "errors": errors or {},
        "next_url": url_with(PATH, {}, cursor=page.next_cursor) if page.next_cursor else None,
        "first_url": PATH if cursor else None,
    }
    return render(request, "portal/products.html", context, status_code=status_code)


@router.get(PATH)
def products_page(request: Request, db: DbSession, cursor: Cursor = None) -> Response:
    """Every product with its features, and the form to create one for those who may."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    return _page(request, db, principal, cursor)


@router.post(PATH)
def create_product(request: Request, db: DbSession, form: Posted) -> Response:
    """Create the product; the form again, with each error by its field, if refused."""
    posted = signed_form(
        request,
        db,
        form,
        fields(*PRODUCT_FIELDS),
        staff=True,
        permission=Permission.PRODUCTS_MANAGE,
    )
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    try:
        data = parse(
            ProductCreate,
            {
                "code": values["code"],
                "name": values["name"],
                "description": values["description"],
                "features": features_of(values["features"]),
            },
            PATHS,
        )
        created = attempt(db, lambda: products.create_product(db, principal, data=data))
        if isinstance(created, Conflict):  # the code is taken
            raise FormErrors({"code": created.detail})
        if isinstance(created, CharterError):
            raise FormErrors(errors_of(created, PATHS))
    except FormErrors as refused:
        return _page(
            request, db, principal, None, values=values, errors=refused.errors, status_code=422
        )
    return redirect(f"{PATH}#product-{created.id}")
