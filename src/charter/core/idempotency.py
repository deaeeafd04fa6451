"""``Idempotency-Key`` on creating calls: the first request's outcome is replayed to repeats.

An ASGI middleware, so every POST route gets it without writing it twice. The key is claimed
by inserting a row in its own transaction; the database's unique constraint decides the winner
when identical requests race, and the losers wait for the winner's stored response.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from charter.core import clock
from charter.core.models import IdempotencyRecord

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
# Creating calls take small JSON bodies; the replayed body is held in memory and stored.
MAX_BODY = 1024 * 1024


def _problem(status: int, title: str, detail: str) -> tuple[int, bytes]:
    body = {"type": "/problems/idempotency", "title": title, "status": status, "detail": detail}
    return status, json.dumps(body).encode()


class IdempotencyMiddleware:
    """Replays stored responses for repeated POSTs carrying the same ``Idempotency-Key``."""

    def __init__(
        self,
        app: ASGIApp,
        sessions: Callable[[], sessionmaker[Session]],
        wait_seconds: float = 10.0,
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.wait_seconds = wait_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER)
        anonymous = b"authorization" not in headers and not _session_cookie(headers)
        if raw_key is None or anonymous:
            # Keys are scoped to a caller; anonymous calls (badge verification) have none to
            # scope by, and create nothing worth deduplicating.
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await _send(send, *_problem(422, "Invalid Idempotency-Key", "must be 1-255 chars"))
            return
        body = await _read_body(receive)
        if body is None:
            await _send(send, *_problem(413, "Request too large", f"at most {MAX_BODY} bytes"))
            return
        caller = hashlib.sha256(
            headers.get(b"authorization", b"") + b"|" + _session_cookie(headers)
        ).hexdigest()
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body
        ).hexdigest()

        outcome = await self._claim(caller, key, fingerprint)
        if outcome is not None:
            await _send(send, *outcome, replayed=True)
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            await asyncio.to_thread(self._release, caller, key)
            raise
        await asyncio.to_thread(self._complete, caller, key, captured)

    async def _claim(self, caller: str, key: str, fingerprint: str) -> tuple[int, bytes] | None:
        """Claim the key; ``None`` if this request should run, else the response to replay.

        Waiting for a concurrent first request happens here, between short lookups, so no
        worker thread is held while it sleeps.
        """
        deadline = time.monotonic() + self.wait_seconds
        while True:
            if await asyncio.to_thread(self._insert_claim, caller, key, fingerprint):
                return None
            record = await asyncio.to_thread(self._lookup, caller, key)
            if record is None:  # the first request failed and released the key: try again
                continue
            request_hash, status_code, body = record
            if request_hash != fingerprint:
                return _problem(
                    422,
                    "Idempotency-Key reused",
                    "this Idempotency-Key was used with a different request",
                )
            if status_code is not None:
                return status_code, body
            if time.monotonic() > deadline:
                return _problem(
                    409, "Request in progress", "a request with this Idempotency-Key is running"
                )
            await asyncio.sleep(0.05)

    def _insert_claim(self, caller: str, key: str, fingerprint: str) -> bool:
        try:
            with self.sessions()() as db, db.begin():
                db.add(
                    IdempotencyRecord(
                        caller=caller, key=key, request_hash=fingerprint, created_at=clock.now()
                    )
                )
        except IntegrityError:
            return False
        return True

    def _lookup(self, caller: str, key: str) -> tuple[str, int | None, bytes] | None:
        with self.sessions()() as db:
            record = db.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
                )
            )
            if record is None:
                return None
            body = (record.response_body or "").encode()
            return record.request_hash, record.status_code, body

    def _complete(self, caller: str, key: str, captured: dict[str, Any]) -> None:
        status = int(captured["status"])
        with self.sessions()() as db, db.begin():
            if status >= 500:
                # A server failure is not an answer worth replaying: let the client retry.
                db.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
                    )
                )
                return
            record = db.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
                )
            )
            if record is not None:
                record.status_code = status
                record.response_body = captured["body"].decode("utf-8", "replace")
                record.completed_at = clock.now()

    def _release(self, caller: str, key: str) -> None:
        with self.sessions()() as db, db.begin():
            db.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
                )
            )


def _session_cookie(headers: dict[bytes, bytes]) -> bytes:
    cookie = headers.get(b"cookie", b"")
    for part in cookie.split(b";"):
        name, _, value = part.strip().partition(b"=")
        if name == b"charter_session":
            return value
    return b""


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or ``None`` if it is larger than :data:`MAX_BODY`."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, *, replayed: bool = False) -> None:
    content_type = b"application/problem+json" if status >= 400 else b"application/json"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
