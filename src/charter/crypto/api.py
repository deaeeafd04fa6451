"""Public key discovery: the issuer's ``did:web`` document."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from charter.config import Settings
from charter.core.errors import NotFound
from charter.crypto import keyring
from charter.deps import DbSession, api_router

router = api_router(tags=["keys"])

DID_MEDIA_TYPE = "application/did+json"


def _document(request: Request, db: DbSession, *, with_path: bool) -> JSONResponse:
    settings: Settings = request.app.state.settings
    did = keyring.issuer_did_web(settings)
    # did:web:host lives at /.well-known/did.json, did:web:host:path at /path/did.json (a
    # proxy in front strips the path, so this app sees /did.json).
    if did is None or (":" in did.removeprefix("did:web:")) != with_path:
        raise NotFound("no DID document here: the issuer is not a did:web of this URL")
    document: dict[str, Any] = keyring.did_document(db, settings)
    return JSONResponse(
        document, media_type=DID_MEDIA_TYPE, headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/.well-known/did.json", responses={200: {"content": {DID_MEDIA_TYPE: {}}}})
def well_known_did(request: Request, db: DbSession) -> JSONResponse:
    """The issuer's did:web document (every signing key, retired ones too, for assertion)."""
    return _document(request, db, with_path=False)


@router.get("/did.json", responses={200: {"content": {DID_MEDIA_TYPE: {}}}})
def path_did(request: Request, db: DbSession) -> JSONResponse:
    """The did:web document when the public URL has a path (``did:web:host:path``)."""
    return _document(request, db, with_path=True)
