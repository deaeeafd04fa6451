"""The portal's forms: a service's refusal shown next to the field at fault.

A form posts plain fields; the page builds the API's own schema from them, so a form accepts
exactly what the API accepts. Errors (the schema's or the service's) come back keyed by the
form field they name, and the form is shown again with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.core.errors import CharterError, Invalid
from charter.web.pages import redirect, signed_in
from charter.web.portal.access import is_staff, not_found_page

GENERAL = "_form"
"""The key of a problem that names no field of the form."""

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class FormErrors(Exception):
    """The problems of a posted form, by form field (``GENERAL`` for the rest)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {detail}" for field, detail in errors.items()))
        self.errors = errors


def _add(found: dict[str, str], field: str, detail: str) -> None:
    found[field] = f"{found[field]}; {detail}" if field in found else detail


def _field_of(path: str, fields: Mapping[str, str]) -> str:
    """The form field a dotted schema path belongs to (its longest known prefix)."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in fields:
            return fields[candidate]
    return GENERAL


def errors_of(error: ValidationError | CharterError, fields: Mapping[str, str]) -> dict[str, str]:
    """A schema's or a service's errors keyed by form field; ``fields``: schema path → field."""
    found: dict[str, str] = {}
    if isinstance(error, ValidationError):
        for item in error.errors(include_url=False):
            path = ".".join(str(part) for part in item.get("loc", ()))
            message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
            _add(found, _field_of(path, fields), message)
    elif isinstance(error, Invalid) and error.errors:
        for field_error in error.errors:
            _add(found, _field_of(field_error.field, fields), field_error.detail)
    else:
        _add(found, GENERAL, error.detail)
    return found


def parse(model: type[M], values: dict[str, Any], fields: Mapping[str, str]) -> M:
    """``values`` as ``model``; :class:`FormErrors` keyed by form field if they do not fit."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise FormErrors(errors_of(error, fields)) from None


def attempt(db: Session, action: Callable[[], T]) -> T | CharterError:
    """``action()`` in a savepoint: its result, or the refusal it raised, all it did undone, so
    that the page can show the form again and the request still commits nothing of it.

    A refusal is one the user can fix (a conflict, invalid input, unmet criteria); not being
    allowed, not finding the thing, and failures of the server are raised on to their error
    page.
    """
    try:
        with db.begin_nested():
            return action()
    except CharterError as error:
        if error.status >= 500 or error.status in (401, 403, 404):
            raise
        return error


def blank(value: str | None) -> str | None:
    """A form field's text, ``None`` when left blank."""
    if value is None:
        return None
    return value.strip() or None


def staff_only(request: Request, db: Session) -> Principal | Response:
    """The signed-in vendor staff member; else the sign-in redirect or (partner users) a 404."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    if not is_staff(principal):
        return not_found_page(request, principal)
    return principal
