"""Unexpected errors in a request: one bounded traceback in the log, and a plain 500.

Starlette's outermost error handler re-raises every exception after answering, so that the
server logs it too: each crash was logged twice, once by Charter and once by Uvicorn. And a
deep recursion's traceback runs to hundreds of kilobytes. :class:`UnexpectedErrorMiddleware`
catches what escapes the application, logs it once with :func:`log_unexpected`, answers 500
and lets nothing escape to the server. Given a ``page`` function, it answers a browser's
request with the HTML page that function makes instead of problem details.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_TRACEBACK_CHARS = 16 * 1024
"""Longest traceback logged; its start (where the request entered) and end (where it failed)
are kept, the middle of a deep recursion is not."""
_HEAD_CHARS = MAX_TRACEBACK_CHARS // 4

PROBLEM_TYPE = b"application/problem+json"
PROBLEM = {
    "type": "about:blank",
    "title": "Internal server error",
    "status": 500,
    "detail": "an unexpected error occurred; it has been logged",
}


def bounded_traceback(error: BaseException) -> str:
    """The formatted traceback of ``error``, at most about :data:`MAX_TRACEBACK_CHARS` long."""
    text = "".join(traceback.format_exception(error)).rstrip("\n")
    if len(text) <= MAX_TRACEBACK_CHARS:
        return text
    tail = MAX_TRACEBACK_CHARS - _HEAD_CHARS
    omitted = len(text) - MAX_TRACEBACK_CHARS
    return f"{text[:_HEAD_CHARS]}\n  [... {omitted} characters omitted ...]\n{text[-tail:]}"


def log_unexpected(log: logging.Logger, method: str, path: str, error: BaseException) -> None:
    """Log one unexpected error of a request, once, with a bounded traceback."""
    log.error("unhandled error on %s %s\n%s", method, path, bounded_traceback(error))


class UnexpectedErrorMiddleware:
    """Answers 500 for any exception that escapes the application, having logged it once."""

    def __init__(
        self,
        app: ASGIApp,
        log: logging.Logger,
        page: Callable[[Scope], bytes | None] | None = None,
    ) -> None:
        self.app = app
        self.log = log
        self.page = page

    def _page(self, scope: Scope) -> bytes | None:
        if self.page is None:
            return None
        try:
            return self.page(scope)
        except Exception as error:  # the page itself failed: problem details still answer
            log_unexpected(self.log, scope.get("method", ""), scope.get("path", ""), error)
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request; an exception is logged and answered here, never re-raised."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as error:
            log_unexpected(self.log, scope.get("method", ""), scope.get("path", ""), error)
            if started:
                # Half an answer is out: the server closes the connection when we return.
                return
            page = self._page(scope)
            body = page if page is not None else json.dumps(PROBLEM).encode()
            media_type = b"text/html; charset=utf-8" if page is not None else PROBLEM_TYPE
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", media_type),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
