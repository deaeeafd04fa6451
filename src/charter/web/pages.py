"""Web pages: sign-in and sign-out with CSRF protection, and the dashboard.

The session lives in the signed ``charter_session`` cookie (SessionMiddleware, set up by
app.py): ``sid`` once signed in, the token of the sign-in's record on the server (see
:mod:`charter.accounts.sessions`), and ``csrf``, a random token every form posts back in a
hidden field. Sign-in replaces both, so a token seen before sign-in is worthless after it;
sign-out ends the record, so a copy of the cookie is worthless after that.
"""

from __future__ import annotations

import hmac
import math
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from charter.accounts import service as accounts
from charter.accounts import sessions
from charter.core import clock
from charter.core.auth import Principal
from charter.core.errors import TooManyAttempts, Unauthorized
from charter.deps import (
    SESSION_KEY,
    DbSession,
    api_router,
    offloaded,
    record_session_seen,
    session_token_of,
)
from charter.web.dashboard import build_dashboard
from charter.web.i18n import COOKIE, COOKIE_MAX_AGE, N_, SOURCE, Language, catalogues
from charter.web.navigation import navigation

HERE = Path(__file__).parent
LANGUAGE_KEY = "charter.language"
"""Where a request's scope keeps the language chosen for it."""


def language_of(request: Request) -> Language:
    """The language ``request``'s pages are shown in (see :mod:`charter.web.i18n`)."""
    found = catalogues()
    if not found.several:
        return SOURCE
    chosen: Language | None = request.scope.get(LANGUAGE_KEY)
    if chosen is None:
        chosen = found.choose(request.cookies.get(COOKIE), request.headers.get("accept-language"))
        request.scope[LANGUAGE_KEY] = chosen
    return chosen


def add_vary(response: Response, *names: str) -> None:
    """Name ``names`` in ``response``'s ``Vary`` too (after those it names already)."""
    present = [part.strip() for part in response.headers.get("vary", "").split(",") if part]
    wanted = present + [name for name in names if name not in present]
    if wanted != present:
        response.headers["Vary"] = ", ".join(wanted)


class PageTemplates(Jinja2Templates):
    """The pages' templates, each response in its request's language.

    The language's ``gettext`` and ``ngettext`` go in the template's context, where they take
    the place of the environment's null translations (English) for ``{% trans %}`` and ``_()``
    alike; ``language`` gives ``<html lang>``, and the response says it in
    ``Content-Language``. Where a catalogue could change the page, it varies with the
    ``Accept-Language`` header and the cookie that choose it.
    """

    def TemplateResponse(  # type: ignore[override]  # noqa: N802 - Starlette's name
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        **options: Any,
    ) -> Response:
        """Render ``name`` for ``request`` in its language."""
        language = language_of(request)
        values = {**(context or {}), "language": language, **language.template_functions}
        found = catalogues()
        if found.several:
            values["languages"] = found.languages  # the chooser's choices
        response = super().TemplateResponse(request, name, values, status_code, **options)
        response.headers["Content-Language"] = language.tag
        if found.several:
            add_vary(response, "Accept-Language", "Cookie")
        return response


templates = PageTemplates(directory=HERE / "templates")
# Page text is marked for translation ({% trans %}, _()). The environment's null translations
# show it as written, in English; a request in another language gets that language's in the
# template's context (PageTemplates). New-style gettext escapes what it substitutes.
templates.env.add_extension("jinja2.ext.i18n")
cast(Any, templates.env).install_null_translations(newstyle=True)
templates.env.globals["language"] = SOURCE
# A message that may be a fixed text (marked with N_) or carry data (a service's detail): looked
# up as it is, never used as a format, so a "%" in it is just a character.
templates.env.globals["translate"] = SOURCE.translations.gettext


def format_utc(value: datetime | None) -> str:
    """A time as ``2026-03-01 12:00 UTC`` for pages."""
    if value is None:
        return ""
    return clock.ensure_utc(value).strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["utc"] = format_utc

router = api_router(include_in_schema=False)
# Mounted on the router so that app.py's include_router serves it at /static.
router.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages show who is signed in and their data: never keep them in shared caches.
    "Cache-Control": "no-store",
}
# Beyond these, argon2 would hash megabytes for nothing: no real address or password is longer.
MAX_EMAIL_LENGTH = 320
MAX_PASSWORD_LENGTH = 1000
LOGIN_FAILED = N_("Email or password is wrong.")
FORM_EXPIRED = N_("This form is no longer valid. Go back, reload the page and try again.")
UNKNOWN_LANGUAGE = N_("There are no pages in that language.")


def secured(response: Response) -> Response:
    """``response`` with the pages' security headers."""
    response.headers.update(SECURITY_HEADERS)
    return response


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    """A page from template ``name``; with a ``principal``, the navigation it may use."""
    values = {"csrf_token": csrf_token(request), **(context or {})}
    principal = values.get("principal")
    if isinstance(principal, Principal):
        values.setdefault("nav", navigation(principal, request.url.path))
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    return secured(response)


def redirect(path: str) -> Response:
    """A 303 to ``path`` (after a form, or to the sign-in page)."""
    return secured(RedirectResponse(path, status_code=303))


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (sign-in forms need one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, presented: str) -> bool:
    """Whether ``presented`` is the session's CSRF token (compared in constant time)."""
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def csrf_refused(request: Request) -> Response:
    """The page answering a form posted without the session's CSRF token."""
    return render(
        request,
        "error.html",
        {
            "title": N_("Form expired"),
            "message": FORM_EXPIRED,
        },
        status_code=403,
    )


def signed_in(request: Request, db: DbSession) -> Principal | None:
    """Who the request's session is signed in as; ``None`` if no one (or it ended)."""
    token = session_token_of(request)
    if token is None:
        return None
    try:
        signed_in = sessions.session_principal(db, token)
    except Unauthorized:
        # Signed out, expired, or the user was disabled since: the cookie is dropped here.
        request.session.clear()
        return None
    if signed_in.record_seen:
        record_session_seen(request, signed_in.session_id)
    return signed_in.principal


@router.get("/")
def home(request: Request) -> Response:
    """The dashboard for a signed-in user, the sign-in page otherwise."""
    return redirect("/dashboard" if session_token_of(request) else "/login")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, db: DbSession) -> Response:
    """The sign-in form."""
    if signed_in(request, db) is not None:
        return redirect("/dashboard")
    return render(request, "login.html", {"email": ""})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: DbSession,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Sign in; on success the session gets a new identity and CSRF token."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    email = email.strip()
    try:
        if not email or not password:
            raise Unauthorized(LOGIN_FAILED)
        if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
            raise Unauthorized(LOGIN_FAILED)
        address = request.client.host if request.client else None
        user = accounts.sign_in(db, email=email, password=password, address=address)
    except TooManyAttempts as refused:
        # Counted per account and per address alike, known or not: it reveals no account.
        response = render(
            request,
            "login.html",
            {
                "email": email[:MAX_EMAIL_LENGTH],
                "error": _wait_message(language_of(request), refused.retry_after),
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    except Unauthorized:
        # One message for every failure, so the form does not reveal which accounts exist.
        # The failure was counted by the service; returning (not raising) commits the count.
        return render(
            request,
            "login.html",
            {"email": email[:MAX_EMAIL_LENGTH], "error": language_of(request).text(LOGIN_FAILED)},
            status_code=401,
        )
    request.session.clear()
    request.session[SESSION_KEY] = sessions.start_session(db, user)
    request.session["csrf"] = secrets.token_urlsafe(32)
    return redirect("/dashboard")


def _wait_message(language: Language, seconds: int) -> str:
    if seconds >= 120:
        minutes = math.ceil(seconds / 60)
        return language.ngettext(
            "Too many failed sign-ins. Wait %(num)d minute, then try again.",
            "Too many failed sign-ins. Wait %(num)d minutes, then try again.",
            minutes,
        ) % {"num": minutes}
    return language.ngettext(
        "Too many failed sign-ins. Wait %(num)d second, then try again.",
        "Too many failed sign-ins. Wait %(num)d seconds, then try again.",
        seconds,
    ) % {"num": seconds}


@router.post("/logout")
def logout(request: Request, db: DbSession, csrf: Annotated[str, Form()] = "") -> Response:
    """Sign out (the form must carry the session's CSRF token); the session ends on the server."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    token = session_token_of(request)
    if token is not None:
        sessions.end_session(db, token)
    request.session.clear()
    return redirect("/login")


@router.get("/dashboard", response_class=HTMLResponse)
@offloaded
def dashboard(request: Request, db: DbSession) -> Response:
    """Counts of partners, people, certifications and awards, and the latest events."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    data = build_dashboard(db, principal, at=clock.now())
    return render(request, "dashboard.html", {"principal": principal, "data": data})


def _local_path(value: str) -> str:
    """``value`` when it is a path on this site (``/...``), else ``/``: never another site."""
    if (
        not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ord(char) < 0x21 or char == "\\" for char in value)
    ):
        return "/"
    return value


@router.post("/language")
def choose_language(
    request: Request,
    lang: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Keep the language chosen in the footer's form (a cookie), then go back to the page."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    language = catalogues().get(lang.strip()[:35])
    if language is None:
        return render(
            request,
            "error.html",
            {
                "title": N_("Check what you entered"),
                "message": UNKNOWN_LANGUAGE,
                "status": 422,
            },
            status_code=422,
        )
    response = redirect(_local_path(next))
    response.set_cookie(
        COOKIE,
        language.tag,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.public_url.startswith("https://"),
    )
    return response
