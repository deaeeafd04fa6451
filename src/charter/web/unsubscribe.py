"""The unsubscribe page: a signed link from an email, confirmed with one button.

``GET /unsubscribe/{token}`` only asks (link scanners open every link in a mail and must not
unsubscribe anyone); ``POST`` records the choice, from the page's form or as an RFC 8058
one-click request sent by the mail client (body ``List-Unsubscribe=One-Click``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from charter.config import Settings
from charter.deps import DbSession, api_router
from charter.notify import render, unsubscribe
from charter.web.pages import SECURITY_HEADERS

router = api_router(include_in_schema=False)


def _page(
    settings: Settings, *, address: str, category: unsubscribe.Category, done: bool
) -> Response:
    environment = render.environment(
        settings.default_locale, str(settings.locale_dir) if settings.locale_dir else None
    )
    body = environment.get_template("unsubscribe_page.html").render(
        address=address,
        category_label=category.label,
        done=done,
        issuer_name=settings.issuer_name,
        locale=settings.default_locale,
    )
    return HTMLResponse(body, headers=SECURITY_HEADERS)


@router.get("/unsubscribe/{token}")
def confirm_unsubscribe(token: str, request: Request) -> Response:
    """Ask whether to stop this category of mail to this address."""
    settings: Settings = request.app.state.settings
    address, category = unsubscribe.read_token(settings, token)
    return _page(settings, address=address, category=category, done=False)


@router.post("/unsubscribe/{token}")
def unsubscribe_now(
    token: str,
    request: Request,
    db: DbSession,
    list_unsubscribe: Annotated[str | None, Form(alias="List-Unsubscribe")] = None,
) -> Response:
    """Record the opt-out (the page's button, or a mail client's one-click request)."""
    settings: Settings = request.app.state.settings
    address, category = unsubscribe.read_token(settings, token)
    one_click = list_unsubscribe == "One-Click"
    unsubscribe.opt_out(
        db, address=address, category=category, source="one-click" if one_click else "page"
    )
    if one_click:
        return PlainTextResponse("unsubscribed\n")
    return _page(settings, address=address, category=category, done=True)
