"""Baked badge images: made once per credential and design, remade when either changes, bounded,
and safe to ask for from many threads at once."""

from __future__ import annotations

import json
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from cachetools import LRUCache

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


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """Every bake, by kind."""
    baked: list[str] = []
    for kind in ("png", "svg"):
        original = getattr(baking, f"bake_{kind}")

        def bake(design: bytes, text: str, original=original, kind=kind) -> bytes:
            baked.append(kind)
            return original(design, text)

        monkeypatch.setattr(baking, f"bake_{kind}", bake)
    return baked


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_an_image_is_baked_once_and_carries_its_credential(counted, kind):
    text = _credential(uuid.uuid4().int)
    first = _image(kind, text)
    again = _image(kind, text)
    assert again == first
    assert counted == [kind]
    extract = baking.extract_png if kind == "png" else baking.extract_svg
    assert extract(first.data) == text
    # Another credential, or another design, is another image.
    other = _image(kind, _credential(uuid.uuid4().int))
    recoloured = _image(kind, text, colour="#b54708")
    assert len({first.etag, other.etag, recoloured.etag}) == 3
    assert counted == [kind] * 3


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


def _fresh_cache(monkeypatch, size: int) -> LRUCache[object, badge_images.BakedImage]:
    cache: LRUCache[object, badge_images.BakedImage] = LRUCache(
        maxsize=size, getsizeof=lambda image: len(image.data)
    )
    monkeypatch.setattr(badge_images, "_baked", cache)
    return cache


def test_the_images_kept_are_bounded_by_their_total_size(monkeypatch, counted):
    one = len(_image("svg", _credential(0)).data)
    small = _fresh_cache(monkeypatch, 3 * one + one // 2)
    counted.clear()
    for n in range(10):
        _image("svg", _credential(n))
    assert small.currsize <= small.maxsize
    assert len(small) == 3
    _image("svg", _credential(9))  # among the latest: kept
    _image("svg", _credential(0))  # the oldest: baked again
    assert counted == ["svg"] * 11


def test_many_threads_get_the_right_images(monkeypatch):
    wanted = [
        (kind, _credential(n), colour)
        for kind in ("png", "svg")
        for n in range(6)
        for colour in ("#1f6feb", "#b54708")
    ]
    _fresh_cache(monkeypatch, 1 << 30)
    expected = {want: _image(want[0], want[1], colour=want[2]) for want in wanted}
    # Room for a few PNGs only: threads evict and insert while others read.
    _fresh_cache(monkeypatch, 4 * len(expected[wanted[0]].data))

    def fetch(want: tuple[badge_images.ImageKind, str, str]) -> bool:
        return _image(want[0], want[1], colour=want[2]) == expected[want]

    # Switch threads as often as the interpreter can, so that they meet inside the cache.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(fetch, wanted * 20))
    finally:
        sys.setswitchinterval(interval)
    assert len(results) == len(wanted) * 20
    assert all(results)
