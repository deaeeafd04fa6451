"""Users for admins: the list with filters, creating a user, and a user's page with its role,
access (disable, enable, end sessions) and API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.accounts import sessions
from charter.accounts.models import User
from charter.core.auth import Permission, Principal, Role
from charter.core.errors import CharterError, Invalid
from charter.core.pagination import DEFAULT_LIMIT
from charter.deps import Cursor, DbSession, api_router
from charter.web.i18n import N_
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.access import is_staff, not_found_page
from charter.web.portal.apikeys import KEY_FIELDS, ScopesField, create_key, key_form_context
from charter.web.portal.filters import blank_to_none, choice, url_with
from charter.web.portal.forms import attempt
from charter.web.portal.posted import NO_FIELDS, Fields, Posted, SignedForm, signed_form

router = api_router(include_in_schema=False)

Text = Annotated[str | None, Query(max_length=200)]
Filters = dict[str, str | None]
USER_FIELDS = {
    "email": 320,
    "display_name": 200,
    "role": 200,
    "partner_id": 200,
    "password": 1000,
}
DISABLED_CHOICES = {"yes": True, "no": False}


def _disabled(value: str | None) -> bool | None:
    if value is None:
        return None
    if value not in DISABLED_CHOICES:
        raise Invalid.field("disabled", N_("must be yes or no"))
    return DISABLED_CHOICES[value]


def _list_page(
    request: Request,
    db: Session,
    principal: Principal,
    filters: Filters,
    cursor: str | None,
    *,
    form: dict[str, str] | None = None,
    error: CharterError | None = None,
) -> Response:
    page = accounts.list_users(
        db,
        principal,
        role=choice(Role, filters["role"], "role"),
        partner_id=filters["partner_id"],
        disabled=_disabled(filters["disabled"]),
        q=filters["q"],
        cursor=cursor,
        limit=DEFAULT_LIMIT,
    )
    next_url = url_with("/users", filters, cursor=page.next_cursor) if page.next_cursor else None
    return render(
        request,
        "portal/users.html",
        {
            "principal": principal,
            "page": page,
            "filters": filters,
            "roles": list(Role),
            "next_url": next_url,
            "first_url": url_with("/users", filters) if cursor else None,
            "form": form or {},
            "error": error,
        },
        status_code=error.status if error else 200,
    )


@router.get("/users")
def users_list(
    request: Request,
    db: DbSession,
    q: Text = None,
    role: Text = None,
    partner_id: Text = None,
    disabled: Text = None,
    cursor: Cursor = None,
) -> Response:
    """Users for admins: search by name or email, filter by role, firm and access."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    if not is_staff(principal):
        return not_found_page(request, principal)
    principal.require(Permission.USERS_MANAGE)  # before the filters are read: no hints
    filters: Filters = {
        "q": blank_to_none(q),
        "role": blank_to_none(role),
        "partner_id": blank_to_none(partner_id),
        "disabled": blank_to_none(disabled),
    }
    return _list_page(request, db, principal, filters, cursor)


@router.post("/users")
def create_user(request: Request, db: DbSession, form: Posted) -> Response:
    """Create a user; on a mistake the form comes back with what was typed (not the password)."""
    posted = signed_form(
        request, db, form, USER_FIELDS, staff=True, permission=Permission.USERS_MANAGE
    )
    if isinstance(posted, Response):
        return posted
    principal, values = posted

    def create() -> User:
        if not values["email"].strip():
            raise Invalid.field("email", N_("enter the user's email address"))
        chosen = choice(Role, values["role"], "role")
        if chosen is None:
            raise Invalid.field("role", N_("choose a role"))
        return accounts.create_user(
            db,
            principal,
            email=values["email"],
            display_name=values["display_name"],
            role=chosen,
            password=values["password"] or None,
            partner_id=blank_to_none(values["partner_id"]),
        )

    outcome = attempt(db, create)
    if isinstance(outcome, CharterError):
        typed = {name: values[name] for name in USER_FIELDS if name != "password"}
        empty: Filters = {"q": None, "role": None, "partner_id": None, "disabled": None}
        return _list_page(request, db, principal, empty, None, form=typed, error=outcome)
    return redirect(f"/users/{outcome.id}")


def _user_page(
    request: Request,
    db: Session,
    principal: Principal,
    user: User,
    *,
    error: CharterError | None = None,
    created: tuple[Any, str] | None = None,
) -> Response:
    context: dict[str, Any] = {
        "principal": principal,
        "user": user,
        "roles": [r for r in Role if r.is_partner_role == (user.partner_id is not None)],
        "error": error,
        "is_self": user.id == principal.user_id,
        **key_form_context(db, principal, user, created=created),
    }
    return render(request, "portal/user.html", context, status_code=error.status if error else 200)


def _managed_user(request: Request, db: Session, user_id: str) -> tuple[Principal, User] | Response:
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    if not is_staff(principal):
        return not_found_page(request, principal)
    principal.require(Permission.USERS_MANAGE)
    return principal, accounts.get_user(db, user_id)


def _managed_user_form(
    request: Request, db: Session, form: dict[str, str], user_id: str, wanted: Fields = NO_FIELDS
) -> tuple[SignedForm, User] | Response:
    """A form about the user ``user_id`` posted by an admin, and that user."""
    posted = signed_form(request, db, form, wanted, staff=True, permission=Permission.USERS_MANAGE)
    if isinstance(posted, Response):
        return posted
    return posted, accounts.get_user(db, user_id)


@router.get("/users/{user_id}")
def user_page(request: Request, db: DbSession, user_id: str) -> Response:
    """A user: their role and firm, access, and API keys, with the forms to change them."""
    found = _managed_user(request, db, user_id)
    if isinstance(found, Response):
        return found
    principal, user = found
    return _user_page(request, db, principal, user)


@router.post("/users/{user_id}/role")
def change_role(request: Request, db: DbSession, form: Posted, user_id: str) -> Response:
    """Give the user another role (they are signed out everywhere)."""
    found = _managed_user_form(request, db, form, user_id, {"role": 200})
    if isinstance(found, Response):
        return found
    (principal, values), user = found

    def change() -> User:
        chosen = choice(Role, values["role"], "role")
        if chosen is None:
            raise Invalid.field("role", N_("choose a role"))
        return accounts.change_role(db, principal, user_id=user.id, role=chosen)

    outcome = attempt(db, change)
    if isinstance(outcome, CharterError):
        return _user_page(request, db, principal, user, error=outcome)
    return redirect(f"/users/{user.id}")


@router.post("/users/{user_id}/disable")
def disable_user(request: Request, db: DbSession, form: Posted, user_id: str) -> Response:
    """Stop the user signing in, saying why; their sessions end and their keys stop working."""
    found = _managed_user_form(request, db, form, user_id, {"reason": 2000})
    if isinstance(found, Response):
        return found
    (principal, values), user = found
    reason = values["reason"]

    def disable() -> User:
        if not reason.strip():
            raise Invalid.field("reason", N_("say why"))
        return accounts.disable_user(db, principal, user_id=user.id, reason=reason.strip())

    outcome = attempt(db, disable)
    if isinstance(outcome, CharterError):
        return _user_page(request, db, principal, user, error=outcome)
    return redirect(f"/users/{user.id}")


@router.post("/users/{user_id}/enable")
def enable_user(request: Request, db: DbSession, form: Posted, user_id: str) -> Response:
    """Let a disabled user sign in again."""
    found = _managed_user_form(request, db, form, user_id)
    if isinstance(found, Response):
        return found
    (principal, _), user = found
    accounts.enable_user(db, principal, user_id=user.id)
    return redirect(f"/users/{user.id}")


@router.post("/users/{user_id}/end-sessions")
def end_sessions(request: Request, db: DbSession, form: Posted, user_id: str) -> Response:
    """Sign the user out everywhere."""
    found = _managed_user_form(request, db, form, user_id)
    if isinstance(found, Response):
        return found
    (principal, _), user = found
    sessions.end_sessions_of(db, principal, user_id=user.id)
    if user.id == principal.user_id:
        request.session.clear()
        return redirect("/login")
    return redirect(f"/users/{user.id}")


@router.post("/users/{user_id}/api-keys")
def create_user_key(
    request: Request, db: DbSession, form: Posted, user_id: str, scopes: ScopesField = None
) -> Response:
    """Create a key for the user (no wider than the admin's own); its token is shown once."""
    found = _managed_user_form(request, db, form, user_id, KEY_FIELDS)
    if isinstance(found, Response):
        return found
    (principal, values), user = found
    outcome = create_key(
        db, principal, user, name=values["name"], scopes=scopes, expires_on=values["expires_on"]
    )
    if isinstance(outcome, CharterError):
        return _user_page(request, db, principal, user, error=outcome)
    return _user_page(request, db, principal, user, created=outcome)


@router.post("/users/{user_id}/api-keys/{key_id}/revoke")
def revoke_user_key(
    request: Request, db: DbSession, form: Posted, user_id: str, key_id: str
) -> Response:
    """Revoke one of the user's keys."""
    found = _managed_user_form(request, db, form, user_id)
    if isinstance(found, Response):
        return found
    (principal, _), user = found
    keys = accounts.list_api_keys(db, principal, user_id=user.id)
    key = next((key for key in keys if key.id == key_id), None)
    if key is None:
        return not_found_page(request, principal)
    outcome = attempt(db, lambda: accounts.revoke_api_key(db, principal, key_id=key.id))
    if isinstance(outcome, CharterError):
        return _user_page(request, db, principal, user, error=outcome)
    return redirect(f"/users/{user.id}")
