"""Who may open a portal page: signed-in users, and for program-wide pages vendor staff only."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from charter.core.auth import Principal
from charter.web.i18n import N_
from charter.web.pages import render


def not_found_page(request: Request, principal: Principal) -> Response:
    """The 404 page, with the navigation of the signed-in user.

    A partner user asking for a program-wide page gets this, as they would for another firm's
    page: the portal does not tell them what exists beyond their own firm.
    """
    return render(
        request,
        "error.html",
        {
            "principal": principal,
            "title": N_("Page not found"),
            "message": N_("There is no page at this address, or you may not see it."),
            "status": 404,
        },
        status_code=404,
    )


def is_staff(principal: Principal) -> bool:
    """Vendor staff see the whole program; partner users only their own firm."""
    return principal.partner_scope is None
