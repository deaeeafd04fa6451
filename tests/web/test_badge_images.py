"""Baked badge images: the credential baked into its design, another image when either changes.

What the public routes keep of them, and for how long, is tested with those routes
(test_public_caching) and with the memory they use (test_memo)."""

from __future__ import annotations

import json
import uuid

import pytest

from charter.credentials import baking
from charter.web import badge_images

PUBLIC_URL = "http://127.0.0.1:8000"


def _credential(n: int) -> str:
    return json.dumps({"id": f"{PUBLIC_URL}/credentials/bdg_{n}", "name": f"Badge {n}"})


def _image(
    kind: badge_images.ImageKind, text: str, **design: str | None
) -> badge_images.BakedImage:
    values = {
        "image_url": None,
        "title": "Cloud Architect",
        "subtitle": "Associate",
        "colour": "#1f6feb",
    }
    values.update(design)
    return badge_images.baked_image(kind, text, public_url=PUBLIC_URL, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_an_image_carries_its_credential_and_the_same_inputs_give_the_same_tag(kind):
    text = _credential(uuid.uuid4().int)
    first = _image(kind, text)
    assert _image(kind, text) == first
    extract = baking.extract_png if kind == "png" else baking.extract_svg
    assert extract(first.data) == text
    # Another credential, or another design, is another image.
    other = _image(kind, _credential(uuid.uuid4().int))
    recoloured = _image(kind, text, colour="#b54708")
    assert len({first.etag, other.etag, recoloured.etag}) == 3


def test_a_replaced_image_file_is_baked_anew():
    name = f"test-artwork-{uuid.uuid4().hex}.svg"
    target = badge_images.STATIC / name
    url = f"{PUBLIC_URL}/static/{name}"
    text = _credential(uuid.uuid4().int)
    try:
        target.write_bytes(baking.default_badge_svg("Artwork", "one", "#123456"))
        first = _image("svg", text, image_url=url)
        assert b"#123456" in first.data
        assert _image("svg", text, image_url=url) == first
        target.write_bytes(baking.default_badge_svg("Artwork", "two, redrawn", "#654321"))
        second = _image("svg", text, image_url=url)
        assert b"#654321" in second.data
        assert second.etag != first.etag
        assert baking.extract_svg(second.data) == text
    finally:
        target.unlink()
    # Gone: the drawn design stands in.
    assert b"#1f6feb" in _image("svg", text, image_url=url).data
