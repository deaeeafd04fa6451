"""API keys on pages: every user's own (their account's keys page), and anyone's for admins
(on the user's page). A new key's token is shown once, on the page answering the form."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.accounts.models import ApiKey, User
from charter.core.auth import Permission, Principal
from charter.core.errors import CharterError, Invalid
from charter.deps import DbSession, api_router
from charter.web.i18n import N_
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.access import not_found_page
from charter.web.portal.forms import attempt
from charter.web.portal.posted import Posted, signed_form

router = api_router(include_in_schema=False)

KEY_FIELDS = {"name": 200, "expires_on": 40}
ScopesField = Annotated[list[str] | None, Form()]
"""The scopes ticked on a key's form: a field posted once per scope, read as a list."""
Created = tuple[ApiKey, str]


def grantable_scopes(principal: Principal, user: User) -> list[str]:
    """The scopes ``principal`` may put on a key of ``user``: those both hold, as the service
    checks."""
    held = accounts.principal_for(user).permissions & principal.permissions
    return sorted(scope.value for scope in held)


def key_form_context(
    db: Session, principal: Principal, user: User, *, created: Created | None = None
) -> dict[str, Any]:
    """What a page listing ``user``'s keys needs: the keys, the scopes to offer, a new token."""
    keys = accounts.list_api_keys(db, principal, user_id=user.id)
    return {
        "keys": sorted(keys, key=lambda key: key.id, reverse=True),
        "scopes": grantable_scopes(principal, user),
        "created_key": created[0] if created else None,
        "token": created[1] if created else None,
    }


def _expiry(value: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid.field("expires_at", N_("must be a date like 2027-01-31")) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def create_key(
    db: Session,
    principal: Principal,
    user: User,
    *,
    name: str,
    scopes: list[str] | None,
    expires_on: str,
) -> Created | CharterError:
    """Create a key for ``user`` from the form's values; the fixable error if it is refused."""

    def create() -> Created:
        if not name.strip():
            raise Invalid.field("name", N_("name the key, so you can tell it apart later"))
        return accounts.create_api_key(
            db,
            principal,
            user_id=user.id,
            name=name,
            scopes=scopes or None,
            expires_at=_expiry(expires_on),
        )

    return attempt(db, create)


def _own_page(
    request: Request,
    db: Session,
    principal: Principal,
    user: User,
    *,
    created: Created | None = None,
    error: CharterError | None = None,
) -> Response:
    context = {
        "principal": principal,
        "user": user,
        "error": error,
        **key_form_context(db, principal, user, created=created),
    }
    status = error.status if error else (201 if created else 200)
    return render(request, "portal/api_keys.html", context, status_code=status)


def _signed_in_user(request: Request, db: Session) -> tuple[Principal, User] | None:
    principal = signed_in(request, db)
    if principal is None or principal.user_id is None:
        return None
    return principal, accounts.get_user(db, principal.user_id)


@router.get("/account/api-keys")
def own_keys(request: Request, db: DbSession) -> Response:
    """The signed-in user's API keys, and the form to create one."""
    found = _signed_in_user(request, db)
    if found is None:
        return redirect("/login")
    principal, user = found
    return _own_page(request, db, principal, user)


@router.post("/account/api-keys")
def create_own_key(
    request: Request, db: DbSession, form: Posted, scopes: ScopesField = None
) -> Response:
    """Create a key for oneself; the answer shows its token, this once."""
    posted = signed_form(request, db, form, KEY_FIELDS)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    if principal.user_id is None:
        return redirect("/login")
    user = accounts.get_user(db, principal.user_id)
    principal.require(Permission.API_KEYS_MANAGE)
    outcome = create_key(
        db, principal, user, name=values["name"], scopes=scopes, expires_on=values["expires_on"]
    )
    if isinstance(outcome, CharterError):
        return _own_page(request, db, principal, user, error=outcome)
    return _own_page(request, db, principal, user, created=outcome)


@router.post("/account/api-keys/{key_id}/revoke")
def revoke_own_key(request: Request, db: DbSession, form: Posted, key_id: str) -> Response:
    """Revoke one of one's own keys."""
    posted = signed_form(request, db, form)
    if isinstance(posted, Response):
        return posted
    principal = posted.principal
    if principal.user_id is None:
        return redirect("/login")
    user = accounts.get_user(db, principal.user_id)
    key = next(
        (key for key in accounts.list_api_keys(db, principal, user_id=user.id) if key.id == key_id),
        None,
    )
    if key is None:
        return not_found_page(request, principal)
    outcome = attempt(db, lambda: accounts.revoke_api_key(db, principal, key_id=key.id))
    if isinstance(outcome, CharterError):
        return _own_page(request, db, principal, user, error=outcome)
    return redirect("/account/api-keys")
