"""Users for admins: the list with filters, creating a user, and a user's page with its role,
access (disable, enable, end sessions) and API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.accounts import sessions
from charter.accounts.models import User
from charter.core.auth import Permission, Principal, Role
from charter.core.errors import CharterError, Invalid
from charter.core.pagination import DEFAULT_LIMIT
from charter.deps import Cursor, DbSession, api_router
from charter.web.pages import csrf_ok, csrf_refused, redirect, render, signed_in
from charter.web.portal.access import is_staff, not_found_page
from charter.web.portal.apikeys import ScopesField, create_key, key_form_context
from charter.web.portal.attempt import attempt
from charter.web.portal.filters import blank_to_none, choice, url_with

router = api_router(include_in_schema=False)

Text = Annotated[str | None, Query(max_length=200)]
Filters = dict[str, str | None]
NameField = Annotated[str, Form(max_length=200)]
EmailField = Annotated[str, Form(max_length=320)]
PasswordField = Annotated[str, Form(max_length=1000)]
ReasonField = Annotated[str, Form(max_length=2000)]
DISABLED_CHOICES = {"yes": True, "no": False}


def _disabled(value: str | None) -> bool | None:
    if value is None:
        return None
    if value not in DISABLED_CHOICES:
        raise Invalid.field("disabled", "must be yes or no")
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
def create_user(
    request: Request,
    db: DbSession,
    email: EmailField = "",
    display_name: NameField = "",
    role: NameField = "",
    partner_id: NameField = "",
    password: PasswordField = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Create a user; on a mistake the form comes back with what was typed (not the password)."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    if not is_staff(principal):
        return not_found_page(request, principal)
    principal.require(Permission.USERS_MANAGE)

    def create() -> User:
        if not email.strip():
            raise Invalid.field("email", "enter the user's email address")
        chosen = choice(Role, role, "role")
        if chosen is None:
            raise Invalid.field("role", "choose a role")
        return accounts.create_user(
            db,
            principal,
            email=email,
            display_name=display_name,
            role=chosen,
            password=password or None,
            partner_id=blank_to_none(partner_id),
        )

    outcome = attempt(db, create)
    if isinstance(outcome, CharterError):
        form = {
            "email": email,
            "display_name": display_name,
            "role": role,
            "partner_id": partner_id,
        }
        empty: Filters = {"q": None, "role": None, "partner_id": None, "disabled": None}
        return _list_page(request, db, principal, empty, None, form=form, error=outcome)
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


@router.get("/users/{user_id}")
def user_page(request: Request, db: DbSession, user_id: str) -> Response:
    """A user: their role and firm, access, and API keys, with the forms to change them."""
    found = _managed_user(request, db, user_id)
    if isinstance(found, Response):
        return found
    principal, user = found
    return _user_page(request, db, principal, user)


@router.post("/users/{user_id}/role")
def change_role(
    request: Request,
    db: DbSession,
    user_id: str,
    role: NameField = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Give the user another role (they are signed out everywhere)."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    found = _managed_user(request, db, user_id)
    if isinstance(found, Response):
        return found
    principal, user = found

    def change() -> User:
        chosen = choice(Role, role, "role")
        if chosen is None:
            raise Invalid.field("role", "choose a role")
        return accounts.change_role(db, principal, user_id=user.id, role=chosen)

    outcome = attempt(db, change)
    if isinstance(outcome, CharterError):
        return _user_page(request, db, principal, user, error=outcome)
    return redirect(f"/users/{user.id}")


@router.post("/users/{user_id}/disable")
def disable_user(
    request: Request,
    db: DbSession,
    user_id: str,
    reason: ReasonField = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Stop the user signing in, saying why; their sessions end and their keys stop working."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    found = _managed_user(request, db, user_id)
    if isinstance(found, Response):
        return found
    principal, user = found

    def disable() -> User:
        if not reason.strip():
            raise Invalid.field("reason", "say why")
        return accounts.disable_user(db, principal, user_id=user.id, reason=reason.strip())

    outcome = attempt(db, disable)
    if isinstance(outcome, CharterError):
        return _user_page(request, db, principal, user, error=outcome)
    return redirect(f"/users/{user.id}")


@router.post("/users/{user_id}/enable")
def enable_user(
    request: Request, db: DbSession, user_id: str, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Let a disabled user sign in again."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    found = _managed_user(request, db, user_id)
    if isinstance(found, Response):
        return found
    principal, user = found
    accounts.enable_user(db, principal, user_id=user.id)
    return redirect(f"/users/{user.id}")


@router.post("/users/{user_id}/end-sessions")
def end_sessions(
    request: Request, db: DbSession, user_id: str, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Sign the user out everywhere."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    found = _managed_user(request, db, user_id)
    if isinstance(found, Response):
        return found
    principal, user = found
    sessions.end_sessions_of(db, principal, user_id=user.id)
    if user.id == principal.user_id:
        request.session.clear()
        return redirect("/login")
    return redirect(f"/users/{user.id}")


@router.post("/users/{user_id}/api-keys")
def create_user_key(
    request: Request,
    db: DbSession,
    user_id: str,
    name: NameField = "",
    scopes: ScopesField = None,
    expires_on: Annotated[str, Form(max_length=40)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Create a key for the user (no wider than the admin's own); its token is shown once."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    found = _managed_user(request, db, user_id)
    if isinstance(found, Response):
        return found
    principal, user = found
    outcome = create_key(db, principal, user, name=name, scopes=scopes, expires_on=expires_on)
    if isinstance(outcome, CharterError):
        return _user_page(request, db, principal, user, error=outcome)
    return _user_page(request, db, principal, user, created=outcome)


@router.post("/users/{user_id}/api-keys/{key_id}/revoke")
def revoke_user_key(
    request: Request,
    db: DbSession,
    user_id: str,
    key_id: str,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Revoke one of the user's keys."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    found = _managed_user(request, db, user_id)
    if isinstance(found, Response):
        return found
    principal, user = found
    keys = accounts.list_api_keys(db, principal, user_id=user.id)
    key = next((key for key in keys if key.id == key_id), None)
    if key is None:
        return not_found_page(request, principal)
    outcome = attempt(db, lambda: accounts.revoke_api_key(db, principal, key_id=key.id))
    if isinstance(outcome, CharterError):
        return _user_page(request, db, principal, user, error=outcome)
    return redirect(f"/users/{user.id}")
