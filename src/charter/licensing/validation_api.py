"""``POST /api/v1/licenses/validate``: licensed software asks whether its key may be used.

Public on purpose: the key is the credential, and no sign-in session is read or written
(``charter.app.PUBLIC_PREFIXES``). The route is on the hot path of every licensed install, so
it does one indexed read (the key's keyed hash), builds no ORM objects and writes nothing;
the decision is :func:`charter.licensing.validation.decide`. A decision about a found license
is kept in memory and written in the background, in batches, for the anomaly rules
(:mod:`charter.licensing.checks`).

Every decision is answered ``200`` and signed as an RFC 9421 HTTP message signature (label
``charter``) with the active token key, the one the JWKS at ``/.well-known/jwks.json``
publishes under ``keyid``: the signature covers ``"@status"`` and ``"content-digest"`` (the
body's SHA-256, RFC 9530), with ``created``, ``keyid``, ``alg="ed25519"``, the client's
``nonce`` and ``tag="charter-license-validation"`` as parameters. A client that checks the
signature and its own nonce can tell a real answer from a forged or replayed one.

Input that is not a request (a field missing, too long, or a key whose check character
fails: a typo) is answered ``422`` naming the field; too many requests for one key or from
one address, ``429`` with ``Retry-After``. Those problem responses are not signed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from sqlalchemy.orm import Session

import charter.licensing.checks as recorded
from charter.config import Settings
from charter.core import clock
from charter.core.errors import PROBLEM_TYPES, Invalid, TooManyAttempts
from charter.crypto import ed25519, httpsig, keyring
from charter.crypto.models import KeyPurpose
from charter.db.engine import transaction
from charter.db.freshness import StampedCache, Watch
from charter.deps import JsonBodyRoute, SegmentRouter, read_rows
from charter.licensing import activations, keyformat, keystore, portability, validation
from charter.licensing.ratelimit import RateLimiter
from charter.licensing.validation import ValidationCode, ValidationRequest

router = SegmentRouter(tags=["licensing"], route_class=JsonBodyRoute)

SIGNATURE_LABEL = "charter"
SIGNATURE_TAG = "charter-license-validation"
SIGNER_SECONDS = 60.0
"""How long a worker signs with the token key it loaded before asking the keyring again. A
rotation in this process shows at once; in another, within this time (the retired key stays
in the JWKS, so what it signed meanwhile still verifies)."""


class ValidationRateLimited(TooManyAttempts):
    """Too many validations for this key or from this address; retry after ``Retry-After``."""

    slug = "rate-limited"
    title = "Too many validations"


# Its type URI (/problems/rate-limited) explains itself like every other problem's.
PROBLEM_TYPES[ValidationRateLimited.slug] = ValidationRateLimited


class ValidationOut(BaseModel):
    """The decision on a validation request (the response is signed, see the module)."""

    valid: bool
    code: ValidationCode
    detail: str
    license_id: str | None = Field(description="The license the key belongs to, if any")
    valid_until: str | None = Field(description="End of the license's term (RFC 3339)")
    nonce: str = Field(description="The request's nonce, echoed")
    checked_at: str = Field(description="When the decision was made (RFC 3339)")


@dataclass(frozen=True, slots=True)
class _Signing:
    kid: str
    signer: ed25519.Signer
    generation: int
    until: float


class _Generation:
    """Counts the token key changes committed in this process (a loaded key is stale after)."""

    def __init__(self) -> None:
        self.value = 0

    def advance(self) -> None:
        self.value += 1


_keys = _Generation()
keyring.on_token_keys_change(_keys.advance)


SNAPSHOTS_KEPT = 10_000
"""Licenses a worker keeps in memory between changes to the database (:func:`_read_snapshot`)."""
KEY_HASHES_KEPT = 10_000
"""Typed keys whose lookup hash a worker keeps (:meth:`_Validation.key_hash`)."""


class _Validation:
    """One application's limiters, embargo list, signing key, recorded checks and the licenses
    it keeps in memory."""

    def __init__(
        self, settings: Settings, sessions: Callable[[], Session], watch: Watch | None
    ) -> None:
        self.settings = settings
        # What the anomaly rules see of validations, written in the background
        # (charter.licensing.checks).
        self.checks = recorded.CheckBuffer(
            settings.license_check_buffer, settings.license_check_flush_seconds
        )
        self.flush = partial(recorded.flush_buffer, self.checks, sessions)
        self.by_key = RateLimiter(settings.license_validation_per_key_per_minute)
        self.by_address = RateLimiter(settings.license_validation_per_address_per_minute)
        self.embargo = frozenset(settings.license_embargoed_regions)
        self.signing: _Signing | None = None
        # By key hash; a key no license has is kept too, as (None,).
        self.snapshots: StampedCache[str, tuple[validation.LicenseSnapshot | None]] = StampedCache(
            watch, SNAPSHOTS_KEPT
        )
        # Each key as it was typed: its canonical form's lookup hash, or why it is malformed.
        # Only the event loop touches it (the route is async and never awaits in between).
        self._hashes: dict[str, tuple[str, str | None]] = {}

    def key_hash(self, typed: str) -> str:
        """The lookup hash of the key ``typed`` names (:class:`Invalid` naming ``key`` if it
        names none), worked out once a key: the checksum and the keyed hash cost more than
        the rest of a validation answered from memory."""
        found = self._hashes.get(typed)
        if found is None:
            try:
                found = (keystore.lookup_hash(self.settings, keyformat.normalize(typed)), None)
            except keyformat.MalformedKey as error:
                found = ("", str(error))
            if len(self._hashes) >= KEY_HASHES_KEPT:
                del self._hashes[next(iter(self._hashes))]  # the oldest
            self._hashes[typed] = found
        key_hash, refusal = found
        if refusal is not None:
            raise Invalid.field("key", refusal)
        return key_hash


def _state(app: FastAPI) -> _Validation:
    found: _Validation | None = getattr(app.state, "license_validation", None)
    if found is None:
        found = app.state.license_validation = _Validation(
            app.state.settings, app.state.sessions, app.state.change_watch
        )
    return found


def flush_checks(app: FastAPI) -> int:
    """Write the validations this application recorded and has not written yet (blocking)."""
    return _state(app).flush()


def _load_signer(app: FastAPI, settings: Settings) -> tuple[str, Ed25519PrivateKey]:
    with transaction(app.state.read_sessions) as db:
        if not keyring.needs_new_key(db, settings, KeyPurpose.TOKEN):
            signer = keyring.active_signer(db, settings, KeyPurpose.TOKEN)
            return _kid(signer.verification_method), signer.private_key
    # A fresh deployment: the first token key is made in a write of its own.
    with transaction(app.state.sessions) as db:
        signer = keyring.active_signer(db, settings, KeyPurpose.TOKEN)
        return _kid(signer.verification_method), signer.private_key


def _kid(verification_method: str) -> str:
    return verification_method.removeprefix(keyring.THUMBPRINT_URI_PREFIX)


async def _signing(request: Request, state: _Validation) -> _Signing:
    kept = state.signing
    if kept is not None and kept.generation == _keys.value and time.monotonic() < kept.until:
        return kept
    generation = _keys.value
    kid, private_key = await run_in_threadpool(_load_signer, request.app, state.settings)
    kept = _Signing(kid, ed25519.Signer(private_key), generation, time.monotonic() + SIGNER_SECONDS)
    state.signing = kept
    return kept


def _limit(limiter: RateLimiter, name: str, what: str) -> None:
    wait = limiter.acquire(name)
    if wait is not None:
        raise ValidationRateLimited(f"too many validations {what}; retry in {wait} s", wait)


@router.post(
    "/licenses/validate",
    response_model=ValidationOut,
    responses={
        200: {
            "description": "The decision, signed (RFC 9421): headers Content-Digest, "
            "Signature-Input, Signature"
        },
        422: {"description": "A field is missing or malformed (a mistyped key: key)"},
        429: {"description": "Too many validations for this key or address (Retry-After)"},
    },
)
async def validate_license(body: ValidationRequest, request: Request) -> Response:
    """Whether a license key may be used for a product (and feature, region, country);
    public: the key is the credential. The answer carries a code (see the README) and is
    signed with the token key published in the JWKS."""
    state = _state(request.app)
    address = request.client.host if request.client is not None else "unknown"
    _limit(state.by_address, address, "from this address")
    key_hash = state.key_hash(body.key)
    _limit(state.by_key, key_hash, "for this key")
    snapshot, activation, pending = await _read_snapshot(request, state, key_hash, body)
    at = clock.now()
    decision = validation.decide(
        snapshot,
        body,
        at=at,
        embargo=state.embargo,
        activation=activation,
        pending_approval=pending,
    )
    if decision.license_id is not None:
        state.checks.record(
            recorded.Observation(
                decision.license_id,
                address,
                body.fingerprint,
                body.region,
                body.country,
                decision.code.value,
                at,
            ),
            state.flush,
        )
    payload: dict[str, Any] = {
        "valid": decision.valid,
        "code": decision.code.value,
        "detail": decision.detail,
        "license_id": decision.license_id,
        "valid_until": None if decision.valid_until is None else _rfc3339(decision.valid_until),
        "nonce": body.nonce,
        "checked_at": _rfc3339(at),
    }
    content = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    signing = await _signing(request, state)
    headers = httpsig.sign_response(
        signing.signer,
        status=200,
        body=content,
        keyid=signing.kid,
        created=int(at.timestamp()),
        nonce=body.nonce,
        label=SIGNATURE_LABEL,
        tag=SIGNATURE_TAG,
    )
    headers["Cache-Control"] = "no-store"
    return Response(content, media_type="application/json", headers=headers)


async def _read_snapshot(
    request: Request, state: _Validation, key_hash: str, body: ValidationRequest
) -> tuple[validation.LicenseSnapshot | None, validation.ActivationState | None, bool]:
    """The license, the asking machine's activation when it names its fingerprint, and
    whether a request to extend the license to the place asked about is pending (read only
    when the place is outside the license's territory).

    The license is kept in memory until the next change to the database
    (:mod:`charter.db.freshness`; on SQLite, and on PostgreSQL where the server listens for
    change notices): a revocation committed by any process shows at the next request.
    Otherwise, a short read of its own (inline on SQLite, in a worker thread on PostgreSQL),
    on a Core connection: the license is one statement, and an ORM session is opened on the
    same transaction only for the activation and approval reads that need one.
    """
    kept, stamp = state.snapshots.get(key_hash)
    if kept is not None:
        (snapshot,) = kept
        if snapshot is None or (
            body.fingerprint is None and validation.outside_territory(snapshot, body) is None
        ):
            return snapshot, None, False

    def load(connection: Connection) -> tuple[validation.LicenseSnapshot | None, Any, bool]:
        snapshot = validation.load_snapshot(connection, key_hash)
        state.snapshots.put(key_hash, (snapshot,), stamp)
        if snapshot is None:
            return None, None, False
        outside = validation.outside_territory(snapshot, body) is not None
        if body.fingerprint is None and not outside:
            return snapshot, None, False
        with request.app.state.read_sessions(bind=connection) as db:
            return (snapshot, *_activation_and_approval(db, snapshot, body, outside=outside))

    # A moment's view: the license, its approvals and activations need not be read as of one
    # instant (on PostgreSQL, no transaction round trips).
    return await read_rows(request, load, consistent=False)


def _activation_and_approval(
    db: Session, snapshot: validation.LicenseSnapshot, body: ValidationRequest, *, outside: bool
) -> tuple[validation.ActivationState | None, bool]:
    pending = outside and portability.pending_covers(
        db,
        snapshot.license_id,
        body.region,
        body.country,
    )
    if body.fingerprint is None:
        return None, pending
    status = activations.activation_status(db, snapshot.license_id, body.fingerprint)
    machines = activations.active_machines(db, snapshot.license_id)
    return (
        validation.ActivationState(
            fingerprint_activated=status != "not_activated",
            active_machines=machines,
            heartbeat_alive=status != "dead",
        ),
        pending,
    )


def _rfc3339(value: Any) -> str:
    text: str = clock.ensure_utc(value).isoformat().replace("+00:00", "Z")
    return text
