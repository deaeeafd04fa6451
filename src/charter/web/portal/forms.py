"""The portal's forms: a service's refusal shown next to the field at fault.

A form posts plain fields; the page builds the API's own schema from them, so a form accepts
exactly what the API accepts. Errors (the schema's or the service's) come back keyed by the
form field they name, and the form is shown again with what was typed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
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


@contextmanager
def attempt(db: Session, fields: Mapping[str, str]) -> Iterator[None]:
    """Run a service call in a savepoint: a refusal undoes all it did and becomes
    :class:`FormErrors`, so the page can show the form again and the request still commits
    nothing of it."""
    try:
        with db.begin_nested():
            yield
    except CharterError as error:
        if error.status >= 500 or error.status in (401, 403, 404):
            raise
        raise FormErrors(errors_of(error, fields)) from None


def blank(value: str | None) -> str | None:
    """A form field's text, ``None`` when left blank."""
    if value is None:
        return None
    return value.strip() or None


MAX_FIELD = 10_000
"""The longest text a form field is read as; the schemas refuse what is longer still."""


async def _posted_fields(request: Request) -> dict[str, str]:
    """A posted form's text fields (the first of each name), each cut at ``MAX_FIELD``."""
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name not in fields:
            fields[name] = value[:MAX_FIELD]
    return fields


Posted = Annotated[dict[str, str], Depends(_posted_fields)]
"""A form's text fields, read on the event loop so that the endpoint itself can be a plain
``def`` run in a worker thread, as every page that touches the database is."""


def pick(form: dict[str, str], names: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """The fields named ``names`` (blank when absent) and the CSRF token of a posted form."""
    return {name: form.get(name, "") for name in names}, form.get("csrf", "")


def staff_only(request: Request, db: Session) -> Principal | Response:
    """The signed-in vendor staff member; else the sign-in redirect or (partner users) a 404."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    if not is_staff(principal):
        return not_found_page(request, principal)
    return principal
