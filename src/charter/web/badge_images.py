"""Baked badge images: a design with a credential baked in.

The design is the certification's own image when Charter serves it (under ``/static``) and it
is of the kind asked for, otherwise one drawn from the badge's name, subtitle and colour.
Drawing a PNG takes tens of milliseconds, so drawn designs are kept by what they are drawn
from. Baking takes a tenth of a millisecond for a drawn design, a little more for an image
file; the public routes keep what they serve (``web.public``), so a credential's image is
baked about once a minute at most.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from charter.core.errors import Invalid
from charter.credentials import baking
from charter.web.conditional import strong_etag

STATIC = Path(__file__).parent / "static"

ImageKind = Literal["png", "svg"]
MEDIA_TYPES: dict[ImageKind, str] = {"png": "image/png", "svg": "image/svg+xml"}

DESIGN_CACHE_SIZE = 64
"""Drawn PNG designs kept per process (one per certification or tier; 75 KiB each)."""


@dataclass(frozen=True, slots=True)
class BakedImage:
    """An image with a credential baked in, and its entity tag."""

    data: bytes
    etag: str


def baked_image(
    kind: ImageKind,
    credential_text: str,
    *,
    image_url: str | None,
    public_url: str,
    title: str,
    subtitle: str,
    colour: str,
) -> BakedImage:
    """The badge image of ``kind`` with ``credential_text`` baked in."""
    artwork = _artwork(image_url, public_url, kind)
    data = _bake(kind, credential_text, artwork, title, subtitle, colour)
    return BakedImage(data, strong_etag(data))


def _bake(
    kind: ImageKind,
    credential_text: str,
    artwork: Path | None,
    title: str,
    subtitle: str,
    colour: str,
) -> bytes:
    if artwork is not None:
        try:
            return _bake_into(kind, artwork.read_bytes(), credential_text)
        except (Invalid, OSError):
            pass  # an unreadable image file: the drawn design stands in
    if kind == "png":
        return _bake_into(kind, _drawn_png(title, subtitle, colour), credential_text)
    return _bake_into(kind, baking.default_badge_svg(title, subtitle, colour), credential_text)


def _bake_into(kind: ImageKind, design: bytes, credential_text: str) -> bytes:
    if kind == "png":
        return baking.bake_png(design, credential_text)
    return baking.bake_svg(design, credential_text)


@lru_cache(maxsize=DESIGN_CACHE_SIZE)
def _drawn_png(title: str, subtitle: str, colour: str) -> bytes:
    # Drawing takes tens of milliseconds; an SVG is written in tens of microseconds.
    return baking.default_badge_png(title, subtitle, colour)


def _artwork(image_url: str | None, public_url: str, kind: ImageKind) -> Path | None:
    """The certification's own image of ``kind`` when Charter serves it (under ``/static``)."""
    if not image_url:
        return None
    path = image_url
    own = public_url.rstrip("/")
    if path.startswith(own + "/"):
        path = path[len(own) :]
    if not path.startswith("/static/"):
        return None  # somewhere else on the web: never fetched to draw a badge
    root = STATIC.resolve()
    file = (root / path.removeprefix("/static/")).resolve()
    if not file.is_relative_to(root) or file.suffix.lower() != f".{kind}":
        return None
    try:
        found = file.stat()
    except OSError:
        return None
    if not stat.S_ISREG(found.st_mode) or found.st_size > baking.MAX_IMAGE_BYTES:
        return None
    return file
