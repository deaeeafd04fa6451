"""A bound on every request body, so that no route reads an unbounded upload into memory.

The API takes small JSON bodies; the forms are smaller still. A body past the bound is answered
413 with problem details: at once when ``Content-Length`` says so, otherwise as soon as the
bytes read pass it (the application is told the client went away, and whatever it answers is
replaced by the 413). Routes with a bound of their own (the verifier takes baked images of a
few MiB and reads its body with its own limit) are left to it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
"""The bound of request bodies: what an ``Idempotency-Key`` request may carry, too."""


# No route reads the body of these: counting it would cost every page view for nothing.
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


def _problem(max_bytes: int) -> bytes:
    return json.dumps(
        {
            "type": "about:blank",
            "title": "Request body too large",
            "status": 413,
            "detail": f"the body is larger than {max_bytes} bytes",
        }
    ).encode()


class BodyLimitMiddleware:
    """Answers 413 to a request whose body passes ``max_bytes`` (paths in ``own_bound`` aside)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, own_bound: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.own_bound = own_bound

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its body counted."""
        if (
            scope["type"] != "http"
            or scope["method"] in _BODILESS
            or scope["path"] in self.own_bound
        ):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        received = 0
        too_large = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return  # whatever the application says about a cut body, the 413 replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except Exception:
            if not too_large:
                raise
            # The application failed on the body it was told was cut short: not its fault.
        if too_large and not started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = _problem(self.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
