"""``Idempotency-Key`` on creating calls: the first request's outcome is replayed to repeats.

An ASGI middleware, so every POST route gets it without writing it twice; other methods pass
through untouched. Keys are scoped to the authenticated caller, who is identified before
anything is stored: a request whose caller is not authenticated runs as if it carried no key
and the route refuses it, so nothing can be written to the table without credentials.

The key is claimed by inserting a row in its own transaction; the database's unique constraint
decides the winner when identical requests race, and the losers wait for the winner's stored
response. A claim whose request never finished (its process died) is taken over by a retry
once it is older than the claim timeout. A record is replayed, with the response's headers,
for its lifetime; then it is forgotten, and the worker prunes it (:func:`prune`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from charter.core import clock
from charter.core.models import IdempotencyRecord

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# Who is calling, as a stable string (an API key's id, a signed-in user's id), or None when
# the request's credentials do not authenticate anyone.
Identify = Callable[[Scope], Awaitable[str | None]]

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
# Creating calls take small JSON bodies; the replayed body is held in memory and stored.
MAX_BODY = 1024 * 1024
# Response headers that are not part of the outcome: hop-by-hop ones, those describing this
# one transmission, and cookies (a cookie set for the first request is not handed to whoever
# repeats it, and a session cookie is a secret that is not stored).
NOT_REPLAYED = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
        b"date",
        b"server",
        b"set-cookie",
        b"idempotent-replayed",
    }
)
# Answers about the caller's credentials or rights rather than the request: the caller may
# sign in again or be granted the right, and should then see the request run.
NOT_KEPT = frozenset({401, 403})


class Answer(NamedTuple):
    """A response sent without running the route: a stored one replayed, or a refusal."""

    status: int
    body: bytes
    # None for refusals, and for records stored before response headers were kept.
    headers: list[tuple[bytes, bytes]] | None
    replayed: bool


def _problem(status: int, title: str, detail: str) -> Answer:
    body = {"type": "/problems/idempotency", "title": title, "status": status, "detail": detail}
    return Answer(status, json.dumps(body).encode(), None, replayed=False)


class BodySeal:
    """Stored answers sealed with AES-256-GCM, each bound to its record's id.

    An answer may hold a secret shown once (a new API key's token, a license key): a copy of
    the table must not reveal it. Records written before sealing (plain text) still replay
    until they expire.
    """

    PREFIX = "sealed:v1:"

    def __init__(self, key: bytes) -> None:
        self.aead = AESGCM(key)

    def seal(self, record_id: int, body: bytes) -> str:
        """The text stored for ``body``."""
        nonce = os.urandom(12)
        sealed = nonce + self.aead.encrypt(nonce, body, str(record_id).encode())
        return self.PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii")

    def open(self, record_id: int, stored: str) -> bytes:
        """The body ``stored`` holds."""
        if not stored.startswith(self.PREFIX):
            return stored.encode()
        sealed = base64.urlsafe_b64decode(stored[len(self.PREFIX) :])
        return self.aead.decrypt(sealed[:12], sealed[12:], str(record_id).encode())


class IdempotencyMiddleware:
    """Replays stored responses for repeated POSTs carrying the same ``Idempotency-Key``."""

    def __init__(
        self,
        app: ASGIApp,
        sessions: Callable[[], sessionmaker[Session]],
        identify: Identify,
        wait_seconds: float = 10.0,
        lifetime: timedelta = timedelta(hours=24),
        claim_timeout: timedelta = timedelta(seconds=60),
        body_key: bytes | None = None,
    ) -> None:
        self.app = app
        # Answers carry secrets (an API key's token, a license key, shown once): kept sealed.
        self.bodies = BodySeal(body_key or os.urandom(32))
        self.sessions = sessions
        self.identify = identify
        self.wait_seconds = wait_seconds
        self.lifetime = lifetime
        self.claim_timeout = claim_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_key = next((value for name, value in scope["headers"] if name == HEADER), None)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        identity = await self.identify(scope)
        if identity is None:
            # Not authenticated: the route refuses the request itself (or serves anyone, like
            # badge verification, which creates nothing worth deduplicating). Storing nothing
            # here means no one can fill the table without credentials.
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await _send(send, _problem(422, "Invalid Idempotency-Key", "must be 1-255 chars"))
            return
        body = await _read_body(receive)
        if body is None:
            await _send(send, _problem(413, "Request too large", f"at most {MAX_BODY} bytes"))
            return
        caller = hashlib.sha256(identity.encode()).hexdigest()
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body
        ).hexdigest()

        claim = await self._claim(caller, key, fingerprint)
        if isinstance(claim, Answer):
            await _send(send, claim)
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
            await asyncio.to_thread(self._release, claim)
            raise
        await asyncio.to_thread(self._complete, claim, captured)

    async def _claim(self, caller: str, key: str, fingerprint: str) -> int | Answer:
        """Claim the key: the claim's row id if this request should run, else what to send.

        Waiting for a concurrent first request happens here, between short lookups, so no
        worker thread is held while it sleeps.
        """
        deadline = time.monotonic() + self.wait_seconds
        while True:
            claimed = await asyncio.to_thread(self._insert_claim, caller, key, fingerprint)
            if claimed is not None:
                return claimed
            record = await asyncio.to_thread(self._lookup, caller, key)
            if record is None:  # released, taken over, or expired: try again
                continue
            request_hash, stored = record
            if request_hash != fingerprint:
                return _problem(
                    422,
                    "Idempotency-Key reused",
                    "this Idempotency-Key was used with a different request",
                )
            if stored is not None:
                return stored
            if time.monotonic() > deadline:
                return _problem(
                    409, "Request in progress", "a request with this Idempotency-Key is running"
                )
            await asyncio.sleep(0.05)

    def _insert_claim(self, caller: str, key: str, fingerprint: str) -> int | None:
        try:
            with self.sessions()() as db, db.begin():
                record = IdempotencyRecord(
                    caller=caller, key=key, request_hash=fingerprint, created_at=clock.now()
                )
                db.add(record)
                db.flush()
                return record.id
        except IntegrityError:
            return None

    def _lookup(self, caller: str, key: str) -> tuple[str, Answer | None] | None:
        """The record's request hash and stored response (``None`` while running).

        ``None`` when there is no record, or only one not to honour any more: past its
        lifetime, or a claim abandoned by a request that never finished, which is deleted
        here so that this request can claim the key.
        """
        now = clock.now()
        expired, abandoned = now - self.lifetime, now - self.claim_timeout
        with self.sessions()() as db, db.begin():
            record = db.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
                )
            )
            if record is None:
                return None
            if record.created_at < expired or (
                record.status_code is None and record.created_at < abandoned
            ):
                # Checked again by the statement: a request that finished meanwhile keeps it.
                db.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.id == record.id,
                        or_(
                            IdempotencyRecord.created_at < expired,
                            IdempotencyRecord.status_code.is_(None)
                            & (IdempotencyRecord.created_at < abandoned),
                        ),
                    )
                )
                return None
            if record.status_code is None:
                return record.request_hash, None
            headers = None
            if record.response_headers is not None:
                headers = [
                    (name.encode("latin-1"), value.encode("latin-1"))
                    for name, value in record.response_headers
                ]
            body = self.bodies.open(record.id, record.response_body or "")
            return record.request_hash, Answer(record.status_code, body, headers, replayed=True)

    def _complete(self, claim: int, captured: dict[str, Any]) -> None:
        status = int(captured["status"])
        if status >= 500 or status in NOT_KEPT:
            # A server failure is not an answer worth replaying: let the client retry.
            self._release(claim)
            return
        headers = [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, value in captured["headers"]
            if name.lower() not in NOT_REPLAYED
        ]
        with self.sessions()() as db, db.begin():
            # By the claim's own row: if a retry took an abandoned claim over, it is not ours.
            db.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == claim)
                .values(
                    status_code=status,
                    response_body=self.bodies.seal(claim, captured["body"]),
                    response_headers=headers,
                    completed_at=clock.now(),
                )
            )

    def _release(self, claim: int) -> None:
        with self.sessions()() as db, db.begin():
            db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == claim))


def prune(db: Session, *, lifetime: timedelta) -> int:
    """Delete the records past their ``lifetime``; how many there were."""
    result = db.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < clock.now() - lifetime)
    )
    return int(getattr(result, "rowcount", 0) or 0)


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


async def _send(send: Send, response: Answer) -> None:
    if response.headers is not None:
        headers = list(response.headers)
    else:  # answers of this module, and records stored before headers were kept
        problem = response.status >= 400
        content_type = b"application/problem+json" if problem else b"application/json"
        headers = [(b"content-type", content_type)]
    headers.append((b"content-length", str(len(response.body)).encode()))
    if response.replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
