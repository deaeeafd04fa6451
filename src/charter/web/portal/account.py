"""The signed-in user's account page: who they are, their sessions, and signing out everywhere."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from charter.accounts import sessions
from charter.core import clock
from charter.deps import DbSession, api_router
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.posted import Posted, signed_form

router = api_router(include_in_schema=False)


@router.get("/account")
def account_page(request: Request, db: DbSession) -> Response:
    """The user's name and role, their live sessions, and the sign-out-everywhere button."""
    principal = signed_in(request, db)
    if principal is None or principal.user_id is None:
        return redirect("/login")
    records = sessions.list_sessions(db, principal, user_id=principal.user_id)
    # Idle past the session lifetime, a session is over even before anything records that.
    lifetime = timedelta(seconds=request.app.state.settings.session_max_age_seconds)
    now = clock.now()
    live = [
        record
        for record in records
        if record.ended_at is None and now - clock.ensure_utc(record.last_seen_at) <= lifetime
    ]
    return render(request, "portal/account.html", {"principal": principal, "live": live})


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(request: Request, db: DbSession, form: Posted) -> Response:
    """End every server session of the user (this one too), then show the sign-in page."""
    posted = signed_form(request, db, form)
    if isinstance(posted, Response):
        return posted
    principal = posted.principal
    if principal.user_id is None:
        return redirect("/login")
    sessions.end_sessions_of(db, principal, user_id=principal.user_id)
    request.session.clear()
    return redirect("/login")
