"""The public status lists: ``GET /status/{id}``, the signed BitstringStatusListCredentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request, Response

from charter.config import Settings
from charter.credentials import status
from charter.deps import DbSession, api_router

router = api_router(tags=["status lists"])


@router.get(
    "/status/{list_id}",
    responses={200: {"content": {status.MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
def get_status_list(
    list_id: str,
    request: Request,
    db: DbSession,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A signed W3C BitstringStatusListCredential; public, cacheable for five minutes."""
    settings: Settings = request.app.state.settings
    text, etag = status.signed_status_list_text(db, list_id, settings)
    headers = {"Cache-Control": status.CACHE_CONTROL, "ETag": etag}
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(text.encode("utf-8"), media_type=status.MEDIA_TYPE, headers=headers)


def _matches(header: str, etag: str) -> bool:
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates
