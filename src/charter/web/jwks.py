"""The published token keys: ``GET /.well-known/jwks.json`` (RFC 7517), for any JOSE library
to verify Charter's tokens offline (:mod:`charter.crypto.tokens`)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from charter.config import Settings
from charter.core import clock
from charter.crypto import keyring, tokens
from charter.crypto.models import KeyPurpose
from charter.db.engine import transaction
from charter.deps import api_router, read
from charter.web.conditional import conditional, strong_etag
from charter.web.memo import Memo

router = api_router(tags=["keys"])

# A rotation must show soon: a verifier caching the set for five minutes fetches it again on
# an unknown kid at the latest then (and jose's remote key sets refetch on one at once).
CACHE_CONTROL = "public, max-age=300"
MEMORY_SECONDS = 2.0
"""How long a worker serves the set from memory. A rotation through this worker shows at
once (the keyring says when token keys change), one through another worker within these
seconds."""


@dataclass(frozen=True, slots=True)
class _Kept:
    body: bytes
    etag: str
    # When a retired key's window ends and the set changes without any rotation.
    changes_at: datetime | None


# One set per application (its database), under a number the application is given once.
_served: Memo[int, _Kept] = Memo(1024 * 1024, size=lambda kept: len(kept.body), ttl=MEMORY_SECONDS)
_apps = itertools.count(1)
keyring.on_token_keys_change(_served.clear)


def _memo_key(request: Request) -> int:
    state = request.app.state
    key: int | None = getattr(state, "jwks_memo_key", None)
    if key is None:
        key = state.jwks_memo_key = next(_apps)
    return key


def _first_key(request: Request, settings: Settings) -> None:
    # A fresh deployment publishes its first token key at once, so that verifiers holding the
    # set know the first token's key: made in a write transaction of its own.
    with transaction(request.app.state.sessions) as writer:
        keyring.active_signer(writer, settings, KeyPurpose.TOKEN)


@router.get(
    "/.well-known/jwks.json",
    responses={
        200: {"content": {tokens.JWKS_MEDIA_TYPE: {}}},
        304: {"description": "Not modified"},
    },
)
async def well_known_jwks(request: Request) -> Response:
    """The JSON Web Key Set of the token keys: the active one, and every retired one while a
    token it signed may still be valid. Verify a token with its ``kid`` from here alone."""
    memo_key = _memo_key(request)
    kept = _served.get(memo_key)
    if kept is not None and kept.changes_at is not None and clock.now() >= kept.changes_at:
        kept = None
    if kept is None:
        settings: Settings = request.app.state.settings
        if await read(request, lambda db: keyring.needs_new_key(db, settings, KeyPurpose.TOKEN)):
            await run_in_threadpool(_first_key, request, settings)
        published = await read(request, lambda db: tokens.published_keys(db, settings))
        body = published.body()
        kept = _Kept(body, strong_etag(body), published.changes_at)
        _served.put(memo_key, kept)
    response = Response(kept.body, media_type=tokens.JWKS_MEDIA_TYPE)
    return conditional(request, response, cache_control=CACHE_CONTROL, etag=kept.etag)
