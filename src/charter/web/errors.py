"""Error pages for people: an HTML page, with the status kept, where a browser asked for one.

The API and JSON clients keep their RFC 9457 problem details; a request gets a page instead
only when it accepts ``text/html`` and its path is not under ``/api/``. The page says what
happened in plain words and never echoes a stack trace or internal detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers

from charter.web.i18n import N_, SOURCE, Language
from charter.web.pages import SECURITY_HEADERS, templates

API_PREFIX = "/api/"

TITLES = {
    400: N_("Bad request"),
    401: N_("Sign in needed"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("Not allowed here"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Check what you entered"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
    503: N_("Busy"),
}
MESSAGES = {
    401: N_("Sign in to see this page."),
    403: N_("Your role does not allow this."),
    404: N_("There is no page at this address, or you may not see it."),
    405: N_("This address does not take that kind of request."),
    500: N_("An unexpected error occurred. It has been logged; try again later."),
    503: N_("Charter is busy. Try again in a moment."),
}


def wants_html(path: str, headers: Mapping[str, str] | Headers) -> bool:
    """Whether an error answering this request should be a page rather than problem details."""
    if path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/"):
        return False
    return "text/html" in headers.get("accept", "")


def error_html(status: int, detail: str | None = None, language: Language = SOURCE) -> str:
    """The error page of ``status`` in ``language``; ``detail`` (a domain error's) replaces the
    stock message, translated when it is a fixed text the catalogue holds."""
    message = detail if detail and status < 500 else MESSAGES.get(status, "")
    values: dict[str, Any] = {
        "title": TITLES.get(status, N_("Error")),
        "message": message or MESSAGES.get(status // 100 * 100, ""),
        "status": status,
        "sign_in": status == 401,
        "language": language,
        **language.template_functions,
    }
    return templates.env.get_template("error.html").render(values)


def error_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers of an error page: the pages' security headers, and ``extra``."""
    return {**SECURITY_HEADERS, **(extra or {})}
