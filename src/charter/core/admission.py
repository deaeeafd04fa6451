"""Admission control: a server worker takes on only as many requests as it can serve.

A pure ASGI middleware. Safe requests (GET, HEAD, OPTIONS) and the others each have their
slots; a request past them waits, without holding a thread or a connection, for up to
``queue_seconds``, and is then answered ``503`` with ``Retry-After`` (problem+json) at once,
instead of piling onto the thread and connection pools until something times out with a 500.
Reads and writes queue apart, so writers waiting on a database lock never starve reads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread

from charter.core.errors import Overloaded

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SPARE_THREADS = 8
"""Threads beyond the slots, for the few other users of the thread pool (file responses)."""


class AdmissionMiddleware:
    """At most ``read_slots`` safe and ``write_slots`` other requests at once; then 503."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        read_slots: int,
        write_slots: int,
        queue_seconds: float,
        retry_after: int = 1,
        read_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        # POSTs that only read (a badge checked, a license validated): a body to send, but
        # nothing written, so they queue with the reads, not behind the writers.
        self.read_paths = read_paths
        self.read_slots = read_slots
        self.write_slots = write_slots
        self.queue_seconds = queue_seconds
        self.retry_after = str(retry_after).encode()
        # Made on first use, inside the server's event loop.
        self._reads: asyncio.Semaphore | None = None
        self._writes: asyncio.Semaphore | None = None

    def _start(self) -> None:
        self._reads = asyncio.Semaphore(self.read_slots)
        self._writes = asyncio.Semaphore(self.write_slots)
        # An admitted request holds one thread at a time: with a thread for every slot, a
        # request never waits for a thread while it holds a database connection.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(
            limiter.total_tokens, self.read_slots + self.write_slots + SPARE_THREADS
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit the request to a slot, queue it, or refuse it with 503."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._reads is None:
            self._start()
        reads = scope["method"] in SAFE_METHODS or scope["path"] in self.read_paths
        slots = self._reads if reads else self._writes
        assert slots is not None
        if slots.locked():
            try:
                async with asyncio.timeout(self.queue_seconds):
                    await slots.acquire()
            except TimeoutError:
                await self._refuse(send)
                return
        else:
            await slots.acquire()  # free: returns at once
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(Overloaded("the server is at capacity; retry shortly").problem()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", self.retry_after),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
