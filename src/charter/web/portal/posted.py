"""A form posted to a portal page, and what every such POST checks before anything else.

Each POST handler takes the posted text fields (:data:`Posted`) and hands them to
:func:`signed_form`, which checks, in this order, what the handlers used to repeat: that no
field is longer than the form takes (the 422 a too long field always got), that the form
carries the session's CSRF token (else the 403 "form expired" page), that someone is signed in
(else the redirect to the sign-in page), and, where a page is for vendor staff only, that they
are staff (else the 404 page). Then the handler gets who posted and the fields it named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.web.pages import csrf_ok, csrf_refused, redirect, signed_in
from charter.web.portal.access import is_staff, not_found_page

MAX_FIELD = 10_000
"""The longest text a form field is read as; the schemas refuse what is longer still."""

Fields = Mapping[str, int]
"""The fields a form posts, each with the longest text it takes."""

NO_FIELDS: Fields = {}


def fields(*names: str, longest: int = MAX_FIELD) -> dict[str, int]:
    """``names`` as :data:`Fields`, each taking up to ``longest`` characters."""
    return dict.fromkeys(names, longest)


async def _posted_fields(request: Request) -> dict[str, str]:
    """A posted form's text fields (the first of each name), each cut at ``MAX_FIELD``."""
    form = await request.form()
    found: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name not in found:
            found[name] = value[:MAX_FIELD]
    return found


Posted = Annotated[dict[str, str], Depends(_posted_fields)]
"""A form's text fields, read on the event loop so that the endpoint itself can be a plain
``def`` run in a worker thread, as every page that touches the database is."""


class SignedForm(NamedTuple):
    """A form that passed the checks: who posted it, and the fields it names (blank when
    absent)."""

    principal: Principal
    values: dict[str, str]


def _too_long(form: Mapping[str, str], wanted: Fields) -> list[dict[str, Any]]:
    """The request-validation errors of the fields longer than they may be."""
    return [
        {
            "type": "string_too_long",
            "loc": ("body", name),
            "msg": f"String should have at most {longest} characters",
            "input": form[name],
            "ctx": {"max_length": longest},
        }
        for name, longest in wanted.items()
        if len(form.get(name, "")) > longest
    ]


def signed_form(
    request: Request,
    db: Session,
    form: Mapping[str, str],
    wanted: Fields = NO_FIELDS,
    *,
    staff: bool = False,
    permission: Permission | None = None,
) -> SignedForm | Response:
    """Who posted ``form`` and its ``wanted`` fields; else the answer the POST gets instead.

    ``staff``: partner users get the 404 page. ``permission``: anyone without it gets the 403
    page (:class:`~charter.core.errors.Forbidden`).
    """
    too_long = _too_long(form, wanted)
    if too_long:
        raise RequestValidationError(too_long)
    if not csrf_ok(request, form.get("csrf", "")):
        return csrf_refused(request)
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    if staff and not is_staff(principal):
        return not_found_page(request, principal)
    if permission is not None:
        principal.require(permission)
    return SignedForm(principal, {name: form.get(name, "") for name in wanted})
