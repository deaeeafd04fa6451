"""Conditional GETs: strong tags, and If-None-Match read as RFC 9110 says."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from charter.web.conditional import conditional, none_match, strong_etag

TAG = strong_etag(b"a representation")


def test_a_strong_tag_is_a_quoted_hash_of_its_parts():
    assert TAG.startswith('"')
    assert TAG.endswith('"')
    assert not TAG.startswith("W/")
    assert strong_etag(b"a representation") == TAG
    assert strong_etag(b"another representation") != TAG
    # The parts are kept apart: moving bytes from one part to the next is another tag.
    assert strong_etag(b"ab", b"c") != strong_etag(b"a", b"bc")


@pytest.mark.parametrize(
    "header",
    [TAG, f"W/{TAG}", f'"other", {TAG}', f'"other",{TAG} , "third"', "*", ' "x", * '],
)
def test_if_none_match_names_the_tag(header):
    assert none_match(header, TAG)


@pytest.mark.parametrize("header", [None, "", '"other"', TAG.strip('"'), f'"{TAG}"', '"a,b"'])
def test_if_none_match_does_not_name_the_tag(header):
    assert not none_match(header, TAG)


def test_a_304_keeps_the_headers_but_not_the_body():
    app = FastAPI()

    @app.get("/thing")
    def thing(request: Request) -> Response:
        response = Response(
            b"body",
            media_type="text/plain",
            headers={"Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"},
        )
        response.headers.append("Vary", "Accept")
        response.headers.append("Vary", "Accept-Language")
        return conditional(request, response, cache_control="public, max-age=60")

    with TestClient(app) as client:
        first = client.get("/thing")
        assert first.status_code == 200
        assert first.headers["etag"] == strong_etag(b"body")
        assert first.headers["cache-control"] == "public, max-age=60"
        again = client.get("/thing", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == "public, max-age=60"
    assert again.headers.get_list("vary") == ["Accept", "Accept-Language"]
    assert again.headers["x-content-type-options"] == "nosniff"
    for header in ("content-type", "content-disposition"):
        assert header not in again.headers
