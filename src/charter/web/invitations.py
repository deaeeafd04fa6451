"""The page an invitation email links to: its owner reads what accepting does, then accepts.

``GET /invitations/{token}`` only shows the invitation (mail scanners open every link and must
accept nothing); ``POST`` accepts it. The signed token is the only credential: the page needs
no sign-in, and, like the other public paths, never reads or writes a session.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from charter.config import Settings
from charter.core.errors import CharterError
from charter.deps import DbSession, api_router
from charter.partners import acceptance
from charter.web.pages import SECURITY_HEADERS, templates

router = api_router(include_in_schema=False)


def _page(request: Request, context: dict[str, object], *, status_code: int = 200) -> Response:
    response = templates.TemplateResponse(
        request, "invitation.html", context, status_code=status_code
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _refused(request: Request, error: CharterError) -> Response:
    return _page(request, {"problem": error.detail}, status_code=error.status)


@router.get("/invitations/{token}", response_class=HTMLResponse)
def show_invitation(token: str, request: Request, db: DbSession) -> Response:
    """What the invitation asks, with a button to accept it."""
    settings: Settings = request.app.state.settings
    try:
        view = acceptance.view_invitation(db, settings, token=token)
    except CharterError as error:
        return _refused(request, error)
    return _page(request, {"invitation": view, "done": False})


@router.post("/invitations/{token}", response_class=HTMLResponse)
def accept_invitation(token: str, request: Request, db: DbSession) -> Response:
    """Accept the invitation: once, before it expires."""
    settings: Settings = request.app.state.settings
    try:
        view = acceptance.accept_invitation(db, settings, token=token)
    except CharterError as error:
        db.rollback()
        return _refused(request, error)
    return _page(request, {"invitation": view, "done": True})
