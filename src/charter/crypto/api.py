"""The issuer's public documents: its ``did:web`` document, and the signed checkpoints of the
events log that anyone can check against it."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Query, Request, Response

from charter.config import Settings
from charter.core.errors import NotFound
from charter.core.pagination import MAX_LIMIT
from charter.crypto import checkpoints, keyring
from charter.db.engine import transaction
from charter.deps import DbSession, api_router
from charter.web.conditional import conditional

router = api_router(tags=["keys"])

DID_MEDIA_TYPE = "application/did+json"
# The document changes when a key is added (rotation), and the new key signs at once: a
# verifier holding an older copy would not find it. A minute in caches, then a revalidation
# that costs a 304 while the keys are unchanged.
DID_CACHE_CONTROL = "public, max-age=60"


def _document(request: Request, db: DbSession, *, with_path: bool) -> Response:
    settings: Settings = request.app.state.settings
    did = keyring.issuer_did_web(settings)
    # did:web:host lives at /.well-known/did.json, did:web:host:path at /path/did.json (a
    # proxy in front strips the path, so this app sees /did.json).
    if did is None or (":" in did.removeprefix("did:web:")) != with_path:
        raise NotFound("no DID document here: the issuer is not a did:web of this URL")
    if keyring.needs_new_key(db, settings):
        # A fresh deployment publishes its first key at once: made in a write transaction of
        # its own (this request's only reads), then read in a new read transaction.
        with transaction(request.app.state.sessions) as writer:
            keyring.active_signer(writer, settings)
        db.commit()
    document = keyring.did_document(db, settings)
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = Response(body, media_type=DID_MEDIA_TYPE)
    return conditional(request, response, cache_control=DID_CACHE_CONTROL)


@router.get(
    "/.well-known/did.json",
    responses={200: {"content": {DID_MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
def well_known_did(request: Request, db: DbSession) -> Response:
    """The issuer's did:web document (every signing key, retired ones too, for assertion)."""
    return _document(request, db, with_path=False)


@router.get(
    "/did.json",
    responses={200: {"content": {DID_MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
def path_did(request: Request, db: DbSession) -> Response:
    """The did:web document when the public URL has a path (``did:web:host:path``)."""
    return _document(request, db, with_path=True)


# A new checkpoint is signed at most every few minutes: a minute in caches is no real delay,
# and a revalidation costs a 304 while the list is unchanged.
CHECKPOINTS_CACHE_CONTROL = "public, max-age=60"


@router.get(
    "/audit/checkpoints",
    responses={
        200: {"content": {checkpoints.MEDIA_TYPE: {}}},
        304: {"description": "Not modified"},
    },
    tags=["events"],
)
def list_checkpoints(
    request: Request,
    db: DbSession,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
) -> Response:
    """The signed checkpoints of the events log, oldest first, as JSON Lines: each line reads
    its entry's sequence number and hash, the count, the time and the key, and carries the
    compact JWS that states them (verify it with the key of its ``kid`` in the DID document).
    Keep a copy: ``charter audit verify --checkpoints FILE`` checks the log against it. A
    ``Link: <...>; rel="next"`` header points to the next page."""
    page = checkpoints.list_checkpoints(db, cursor=cursor, limit=limit)
    response = Response(checkpoints.jsonl(page.items), media_type=checkpoints.MEDIA_TYPE)
    if page.next_cursor is not None:
        following = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return conditional(request, response, cache_control=CHECKPOINTS_CACHE_CONTROL)
