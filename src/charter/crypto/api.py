"""Public key discovery: the issuer's ``did:web`` document."""

from __future__ import annotations

import json

from fastapi import Request, Response

from charter.config import Settings
from charter.core.errors import NotFound
from charter.crypto import keyring
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
