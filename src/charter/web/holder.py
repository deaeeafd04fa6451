"""Holders' pages: signing in by an emailed one-time link, and ``/me/badges``.

A certified person has no password. ``GET /me`` asks for an address; posting it always gets
the same answer, whether or not the address is known, and is limited per address and per
client. The mailed link (``/me/sign-in/{token}``) shows a button rather than signing in on
``GET``, since mail scanners open every link; pressing it uses the link (once, within 15
minutes) and starts a holder session, kept under its own key (``holder``) in the same signed
cookie as the portal's (the same flags), recorded apart from users' sessions and giving no
access to the portal. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import math
import secrets
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from charter.accounts import holders
from charter.config import Settings
from charter.core.auth import Principal
from charter.core.errors import Invalid, NotFound, TooManyAttempts, Unauthorized
from charter.credentials import holding
from charter.credentials.enums import AwardStatus
from charter.deps import DbSession, api_router
from charter.notify import holder_links
from charter.partners import people
from charter.web import public
from charter.web.i18n import N_
from charter.web.pages import (
    FORM_EXPIRED,
    MAX_EMAIL_LENGTH,
    SECURITY_HEADERS,
    csrf_ok,
    csrf_token,
    templates,
)

router = api_router(include_in_schema=False)

HOLDER_KEY = "holder"
"""Where the session cookie keeps the holder session's token (staff's is ``sid``)."""
SENT = N_(
    "If we know this address, we sent a sign-in link to it. It works once, for 15 minutes. "
    "Check your inbox (and your spam folder)."
)
MAX_DID_LENGTH = 1000


def _page(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    values = {"csrf_token": csrf_token(request), **(context or {})}
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _redirect(path: str) -> Response:
    response = Response(status_code=303, headers={"Location": path})
    response.headers.update(SECURITY_HEADERS)
    return response


def _error(request: Request, status: int, title: str, message: str) -> Response:
    context = {"title": title, "message": message}
    return _page(request, "holder_error.html", context, status_code=status)


def _csrf_refused(request: Request) -> Response:
    return _error(request, 403, N_("Form expired"), FORM_EXPIRED)


def _holder(request: Request, db: Session) -> Principal | None:
    token = request.session.get(HOLDER_KEY)
    if not isinstance(token, str) or not token:
        return None
    try:
        return holders.holder_principal(db, token)
    except (Unauthorized, NotFound):
        request.session.pop(HOLDER_KEY, None)
        return None


def _wait(seconds: int) -> str:
    if seconds >= 120:
        return f"{math.ceil(seconds / 60)} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


@router.get("/me", response_class=HTMLResponse)
def sign_in_form(request: Request, db: DbSession) -> Response:
    """The form asking for an address to mail a sign-in link to (signed in: the badges)."""
    if _holder(request, db) is not None:
        return _redirect("/me/badges")
    return _page(request, "holder_sign_in.html", {"email": "", "sent": False})


@router.post("/me", response_class=HTMLResponse)
def ask_for_link(
    request: Request,
    db: DbSession,
    email: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Mail a sign-in link if the address is known; the answer is the same either way."""
    if not csrf_ok(request, csrf):
        return _csrf_refused(request)
    email = email.strip()[: MAX_EMAIL_LENGTH + 1]
    if not email:
        context = {"email": "", "sent": False, "error": N_("Enter your email address.")}
        return _page(request, "holder_sign_in.html", context, status_code=422)
    client = request.client.host if request.client else None
    if len(email) <= MAX_EMAIL_LENGTH:
        try:
            holder_links.send_sign_in_link(db, email=email, client=client)
        except TooManyAttempts as refused:
            # Counted per address and client, known or not: it tells nothing about accounts.
            error = f"Too many sign-in links asked for. Wait {_wait(refused.retry_after)}."
            context = {"email": email, "sent": False, "error": error}
            response = _page(request, "holder_sign_in.html", context, status_code=429)
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
    return _page(request, "holder_sign_in.html", {"email": "", "sent": True, "message": SENT})


def _link_refused(request: Request, error: NotFound) -> Response:
    return _error(request, 404, N_("Sign-in link not valid"), error.detail)


@router.get("/me/sign-in/{token}", response_class=HTMLResponse)
def link_page(request: Request, db: DbSession, token: str) -> Response:
    """The page a mailed link opens: a button that signs in (opening it uses nothing)."""
    try:
        holders.check_link(db, token=token)
    except NotFound as error:
        return _link_refused(request, error)
    return _page(request, "holder_link.html", {"token": token})


@router.post("/me/sign-in/{token}", response_class=HTMLResponse)
def sign_in(
    request: Request, db: DbSession, token: str, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Use the link: once, within 15 minutes; a new holder session and CSRF token."""
    if not csrf_ok(request, csrf):
        return _csrf_refused(request)
    try:
        session_token = holders.sign_in_with_link(db, token=token)
    except NotFound as error:
        return _link_refused(request, error)
    request.session[HOLDER_KEY] = session_token
    request.session["csrf"] = secrets.token_urlsafe(32)
    return _redirect("/me/badges")


@router.post("/me/sign-out")
def sign_out(request: Request, db: DbSession, csrf: Annotated[str, Form()] = "") -> Response:
    """End the holder session (the portal's session, if any, is left as it is)."""
    if not csrf_ok(request, csrf):
        return _csrf_refused(request)
    token = request.session.pop(HOLDER_KEY, None)
    if isinstance(token, str):
        holders.end_holder_session(db, token)
    return _redirect("/me")


def _shown(db: Session, settings: Settings, badge: holding.HeldBadge) -> dict[str, Any]:
    """A badge as the page lists it: its facts, downloads, LinkedIn link and embed snippet."""
    item: dict[str, Any] = {"badge": badge, "linkedin_url": None, "embed_snippet": None}
    if badge.credential_id is None:
        return item
    found = public.find_credential(db, settings, badge.credential_id)
    shown = public.badge_of(db, settings, found, found.document, with_holder=False)
    if badge.status is AwardStatus.ACTIVE and not found.revoked:
        item["linkedin_url"] = public.linkedin_url(settings, shown)
    item["embed_snippet"] = public.embed_snippet(shown)
    return item


def _badges_page(
    request: Request, db: Session, holder: Principal, *, status_code: int = 200, **extra: Any
) -> Response:
    settings: Settings = request.app.state.settings
    person = people.get_person_record(db, holder.holder_person_id or "")
    items = [_shown(db, settings, badge) for badge in holding.held_badges(db, holder)]
    context = {"holder": holder, "person": person, "items": items, **extra}
    context.setdefault("did", person.did or "")
    return _page(request, "holder_badges.html", context, status_code=status_code)


@router.get("/me/badges", response_class=HTMLResponse)
def badges(request: Request, db: DbSession) -> Response:
    """The signed-in holder's badges, current ones first, with what they can do with each."""
    holder = _holder(request, db)
    if holder is None:
        return _redirect("/me")
    return _badges_page(request, db, holder)


@router.post("/me/badges/{award_id}/name", response_class=HTMLResponse)
def set_name_shown(
    request: Request,
    db: DbSession,
    award_id: str,
    shown: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Show or hide the holder's name on one badge's public page (someone else's: 404)."""
    if not csrf_ok(request, csrf):
        return _csrf_refused(request)
    holder = _holder(request, db)
    if holder is None:
        return _redirect("/me")
    try:
        holding.set_name_shown(db, holder, award_id=award_id, shown=shown == "yes")
    except NotFound:
        return _error(request, 404, N_("Badge not found"), "You hold no badge with this id.")
    return _redirect("/me/badges")


@router.post("/me/did", response_class=HTMLResponse)
def set_did(
    request: Request,
    db: DbSession,
    did: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Set or clear the holder's DID (credentials issued from now on name it)."""
    if not csrf_ok(request, csrf):
        return _csrf_refused(request)
    holder = _holder(request, db)
    if holder is None:
        return _redirect("/me")
    if len(did) > MAX_DID_LENGTH:
        did = did[:MAX_DID_LENGTH]
    try:
        people.set_own_did(db, holder, did=did)
    except Invalid as error:
        problem = error.errors[0].detail if error.errors else error.detail
        return _badges_page(
            request, db, holder, status_code=422, did=did, did_error=f"The DID {problem}."
        )
    return _redirect("/me/badges")
