"""The public status lists: ``GET /status/{id}``, the signed BitstringStatusListCredentials."""

from __future__ import annotations

from fastapi import Request, Response

from charter.config import Settings
from charter.credentials import status
from charter.deps import api_router, read
from charter.web.conditional import conditional
from charter.web.memo import Memo

router = api_router(tags=["status lists"])

MEMORY_SECONDS = 2.0
"""How long a worker serves a list from memory. Lists may be five minutes old in any cache
(``Cache-Control``); a change made through this worker shows at once, one made through
another worker within these seconds."""
_served: Memo[str, tuple[bytes, str]] = Memo(
    16 * 1024 * 1024, size=lambda kept: len(kept[0]), ttl=MEMORY_SECONDS
)
status.on_change(_served.forget)


@router.get(
    "/status/{list_id}",
    responses={200: {"content": {status.MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
async def get_status_list(list_id: str, request: Request) -> Response:
    """A signed W3C BitstringStatusListCredential; public, cacheable for five minutes.

    The signed text is stored on the list and served as stored; it is signed anew only after
    a bit changed, and its tag (a hash of the text) changes with it.
    """
    kept = _served.get(list_id)
    if kept is None:
        settings: Settings = request.app.state.settings
        text, etag = await read(
            request, lambda db: status.signed_status_list_text(db, list_id, settings)
        )
        kept = (text.encode("utf-8"), etag)
        _served.put(list_id, kept)
    data, etag = kept
    response = Response(data, media_type=status.MEDIA_TYPE)
    return conditional(request, response, cache_control=status.CACHE_CONTROL, etag=etag)
