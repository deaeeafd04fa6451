"""``POST /api/v1/verify``: anyone may check a credential (JSON, or a baked PNG/SVG upload).

Public on purpose: customers verify partners' badges without an account. The answer is the
verdict (200 even for revoked or invalid credentials); 422 only when the input holds no
credential at all, 413 when it is too big, 400 when it is nested too deep. The body is read
with a bound before any parsing, and its depth is checked before any recursive processing
(JSON-LD, canonicalization, schema validation).

The documents a credential points to (keys, status lists) are fetched through
:class:`charter.core.outbound.GuardedTransport`: public addresses only, connected to the
address that was checked.

Deployments hook their own sources in with :func:`configure`: a resolver that answers for the
deployment's own DID document and status lists without a network round trip, and a lookup of
Charter's records for suspension and revocation reasons.
"""

from __future__ import annotations

import asyncio
import functools
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field, TypeAdapter
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Message

from charter.config import Settings
from charter.core import clock, outbound
from charter.core.errors import CharterError, FieldError, Invalid
from charter.credentials import baking
from charter.credentials.resolver import ChainResolver, HttpResolver, Resolver
from charter.credentials.verify import (
    MAX_DEPTH,
    LocalStatusLookup,
    Verdict,
    deeper_than,
    looks_like_credential,
    verify_credential,
)

VERIFY_EXAMPLE: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "id": "https://badges.example.com/credentials/cred_01HZXC4V7N2Q",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "did:web:badges.example.com", "type": ["Profile"], "name": "Example Corp"},
    "validFrom": "2026-03-02T15:00:00Z",
    "credentialSubject": {
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://badges.example.com/achievements/ADM-201",
            "type": ["Achievement"],
            "name": "Certified Administrator",
        },
    },
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": "did:web:badges.example.com#key-1",
        "proofPurpose": "assertionMethod",
        "proofValue": "z58DAdFfa9SkqZMVPxAQp...",
    },
}
"""What the documentation shows a credential to verify as (abridged)."""

MAX_BODY_BYTES = 8 * 1024 * 1024
"""A baked badge image is a few hundred KiB; the bound keeps hostile uploads cheap to refuse."""
FETCH_TIMEOUT_S = 10.0
JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")

router = APIRouter(tags=["verification"])


class CheckOut(BaseModel):
    """One verification step."""

    name: str = Field(examples=["proof"])
    ok: bool
    detail: str


class VerdictOut(BaseModel):
    """The verdict on a credential and every check behind it."""

    status: Literal["valid", "expired", "not_yet_valid", "revoked", "suspended", "invalid"]
    reason: str | None = Field(description="Why the credential is not valid (null when valid)")
    credential_id: str | None
    issuer: str | None
    issuer_name: str | None
    subject: str | None
    achievement_name: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    checks: list[CheckOut]

    @classmethod
    def of(cls, verdict: Verdict) -> VerdictOut:
        """The API shape of a verdict."""
        return cls(
            status=verdict.status,
            reason=verdict.reason,
            credential_id=verdict.credential_id,
            issuer=verdict.issuer,
            issuer_name=verdict.issuer_name,
            subject=verdict.subject,
            achievement_name=verdict.achievement_name,
            valid_from=verdict.valid_from,
            valid_until=verdict.valid_until,
            checks=[CheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in verdict.checks],
        )


def configure(
    app: FastAPI,
    *,
    resolver: Resolver | None = None,
    local_status: LocalStatusLookup | None = None,
) -> None:
    """Give the verify route the deployment's own documents and records.

    ``resolver`` is asked before the network (for the deployment's DID document and status
    lists); ``local_status`` reports suspension and revocation reasons of Charter's credentials.
    """
    app.state.verify_local_resolver = resolver
    app.state.verify_local_status = local_status


def _resolver(app: Any) -> Resolver:
    network = getattr(app.state, "verify_http_resolver", None)
    if network is None:
        settings: Settings = app.state.settings
        # One client per application: connection pooling across requests, thread-safe.
        client = outbound.guarded_client(timeout=FETCH_TIMEOUT_S)
        network = HttpResolver(client, cache_dir=settings.data_dir / "cache" / "documents")
        app.state.verify_http_resolver = network
    local = getattr(app.state, "verify_local_resolver", None)
    return ChainResolver(local, network) if local is not None else network


async def _bounded_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise HTTPException(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    except ClientDisconnect as error:
        raise HTTPException(400, "the client went away before sending the body") from error
    return bytes(body)


def _not_a_credential(detail: str) -> Invalid:
    return Invalid.field("credential", detail)


def _too_deep() -> CharterError:
    detail = f"nested deeper than {MAX_DEPTH} levels"
    return CharterError(
        f"credential: {detail}", errors=[FieldError("credential", detail).as_dict()]
    )


def _credential_from_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except RecursionError as error:
        raise _too_deep() from error
    except (ValueError, UnicodeDecodeError) as error:
        raise _not_a_credential(f"the body is not JSON: {error}") from error
    if isinstance(data, dict) and "credential" in data:
        data = data["credential"]
        if isinstance(data, str):
            return _credential_from_text(data)
    # Checked before anything walks the document recursively (here, or in the verifier).
    if deeper_than(data, MAX_DEPTH):
        raise _too_deep()
    if not looks_like_credential(data):
        raise _not_a_credential("not a credential (no @context, type, subject or proof)")
    result: dict[str, Any] = data
    return result


def _credential_from_text(text: str) -> dict[str, Any]:
    if text.startswith("ey") and text.count(".") == 2:
        raise _not_a_credential("VC-JWT (compact JWS) credentials are not supported")
    return _credential_from_json(text.encode("utf-8"))


def _credential_from_file(data: bytes) -> dict[str, Any]:
    try:
        _, text = baking.extract(data)
    except Invalid as error:
        raise _not_a_credential(error.errors[0].detail if error.errors else error.detail) from error
    return _credential_from_text(text)


async def _multipart_file(request: Request, body: bytes) -> bytes:
    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    # The body is already read (bounded); the form parser reads it again from memory.
    replayed = Request(request.scope, replay)
    try:
        form = await replayed.form(max_files=1, max_fields=5)
    except (ValueError, KeyError, HTTPException) as error:
        raise _not_a_credential("the multipart body cannot be read") from error
    try:
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            return await upload.read()
        if isinstance(upload, str):
            return upload.encode("utf-8")
        raise _not_a_credential("the multipart body has no `file` part")
    finally:
        await form.close()


@router.post(
    "/verify",
    response_model=VerdictOut,
    summary="Verify a credential",
    responses={
        400: {"description": "The credential is nested too deeply, or the body was cut short"},
        413: {"description": f"The body is larger than {MAX_BODY_BYTES} bytes"},
        422: {"description": "The body is not a credential (`errors` says why)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["credential"],
                        "properties": {
                            "credential": {
                                "type": "object",
                                "description": "An OB 3.0 credential with an embedded proof",
                            }
                        },
                    },
                    "examples": {
                        "credential": {
                            "summary": "A credential (abridged: send it whole, as issued)",
                            "value": {"credential": VERIFY_EXAMPLE},
                        }
                    },
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "Credential JSON, baked PNG or baked SVG",
                            }
                        },
                    },
                    "examples": {
                        "badge": {
                            "summary": "A baked badge image",
                            "value": {"file": "(the bytes of badge.png)"},
                        }
                    },
                },
            },
        }
    },
)
async def verify(request: Request) -> Response:
    """Check a credential's contexts, schema, proof, key, dates and status; no login needed."""
    body = await _bounded_body(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        credential = _credential_from_file(await _multipart_file(request, body))
    elif content_type in JSON_TYPES:
        credential = _credential_from_json(body)
    else:
        # A raw upload (image/png, image/svg+xml, ...): what it is comes from its content.
        credential = _credential_from_file(body)
    check = functools.partial(
        verify_credential,
        credential,
        resolver=_resolver(request.app),
        now=clock.now(),
        local_status=getattr(request.app.state, "verify_local_status", None),
    )
    verdict = await asyncio.get_running_loop().run_in_executor(_verifiers(request.app), check)
    # Written straight to JSON: the model is the route's response_model, and FastAPI would
    # validate it once more before writing it.
    return Response(_VERDICT.dump_json(VerdictOut.of(verdict)), media_type="application/json")


_VERDICT = TypeAdapter(VerdictOut)


VERIFYING_AT_ONCE = 2
"""Verifications a worker runs at once; the others wait their turn, first come first served.

Checking a proof is pure computation: a process runs one thread of it at a time, so more
threads only take turns on the one core, and each answer comes later (and the event loop
waits its turn among them). Two keep the core busy while one waits on a fetched key
(measured at 32 clients: p99 40 ms with two, 108 ms with four, 349 ms with two dozen)."""


def _verifiers(app: Any) -> ThreadPoolExecutor:
    """The worker's verification threads, :data:`VERIFYING_AT_ONCE` of them, with their queue.

    Their own executor rather than the server's shared thread pool: handing a call to
    ``run_in_threadpool`` (AnyIO's capacity limiter and cancel scope) took about a sixth of
    the event loop's time under load, more than a verification's own parsing and answer. A
    request that goes away while its verification waits in the queue takes it out.
    """
    pool: ThreadPoolExecutor | None = getattr(app.state, "verifiers", None)
    if pool is None:
        pool = app.state.verifiers = ThreadPoolExecutor(
            VERIFYING_AT_ONCE, thread_name_prefix="charter-verify"
        )
    return pool
