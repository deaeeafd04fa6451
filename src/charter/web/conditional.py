"""Conditional GETs for the public documents: strong entity tags and ``304 Not Modified``.

Every public route that serves bytes (credentials, baked images, the page and embed, status
lists, the DID document) answers through :func:`conditional`, so they agree on what a tag looks
like and on how ``If-None-Match`` is read (RFC 9110 §13.1.2: weak comparison, a list of tags, or
``*``).
"""

from __future__ import annotations

from fastapi import Request, Response

from charter.core.etags import none_match, strong_etag

__all__ = ["conditional", "none_match", "strong_etag"]

# Headers that describe the body a 304 does not carry (RFC 9110 §15.4.5).
_BODY_HEADERS = frozenset({b"content-length", b"content-type", b"content-disposition"})


def conditional(
    request: Request, response: Response, *, cache_control: str, etag: str | None = None
) -> Response:
    """``response`` with its ``ETag`` and ``Cache-Control``, or a bodiless 304 with the same
    headers when the client's ``If-None-Match`` already names it.

    Without ``etag`` the tag is the hash of the response's body, which therefore changes
    whenever a single byte of it does.
    """
    tag = etag or strong_etag(bytes(response.body))
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = cache_control
    if not none_match(request.headers.get("if-none-match"), tag):
        return response
    not_modified = Response(status_code=304)
    # Raw pairs, so that a header sent twice (Vary) is kept twice.
    not_modified.raw_headers = [
        (key, value) for key, value in response.raw_headers if key not in _BODY_HEADERS
    ]
    return not_modified
