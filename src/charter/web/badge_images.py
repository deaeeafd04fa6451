"""Baked badge images: a design with a credential baked in, kept once made.

The design is the certification's own image when Charter serves it (under ``/static``) and it
is of the kind asked for, otherwise one drawn from the badge's name, subtitle and colour.
Drawing a PNG takes tens of milliseconds, so designs are cached by what they are drawn from;
baking and hashing a baked image takes a tenth of a millisecond for a drawn design and grows
with the size of an image file, so baked images are cached too, up to a total size, by what
they are made of: the kind, a hash of the credential's bytes, and the design (what it is
drawn from, or the file's identity and modification time). Whatever changes the output
changes the key, so nothing is ever invalidated by hand: an entry no longer asked for ages
out. Both caches are shared by the server's threads, behind locks.
"""

from __future__ import annotations

import hashlib
import stat
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cachetools import LRUCache

from charter.core.errors import Invalid
from charter.credentials import baking
from charter.web.conditional import strong_etag

STATIC = Path(__file__).parent / "static"

ImageKind = Literal["png", "svg"]
MEDIA_TYPES: dict[ImageKind, str] = {"png": "image/png", "svg": "image/svg+xml"}

BAKED_CACHE_BYTES = 32 * 1024 * 1024
"""Baked images kept per process, in bytes: some 400 badges drawn by Charter (75 KiB each)."""
DESIGN_CACHE_SIZE = 64
"""Drawn PNG designs kept per process (one per certification or tier; 75 KiB each)."""

DesignKey = tuple[str | int, ...]
"""What a design is made from: ``("drawn", title, subtitle, colour)`` or a file's identity."""


@dataclass(frozen=True, slots=True)
class BakedImage:
    """An image with a credential baked in, and its entity tag."""

    data: bytes
    etag: str


@dataclass(frozen=True, slots=True)
class _Artwork:
    """A certification's own image file and what identifies this version of it."""

    file: Path
    key: DesignKey


_baked: LRUCache[tuple[ImageKind, str, DesignKey], BakedImage] = LRUCache(
    maxsize=BAKED_CACHE_BYTES, getsizeof=lambda image: len(image.data)
)
_baked_lock = threading.Lock()


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
    """The badge image of ``kind`` with ``credential_text`` baked in, made once and kept."""
    artwork = _artwork(image_url, public_url, kind)
    design: DesignKey = artwork.key if artwork else ("drawn", title, subtitle, colour)
    key = (kind, hashlib.sha256(credential_text.encode("utf-8")).hexdigest(), design)
    with _baked_lock:
        image = _baked.get(key)
    if image is not None:
        return image
    # Made outside the lock: two threads asking for the same new image at once both bake it,
    # and store the same bytes.
    data = _bake(kind, credential_text, artwork, title, subtitle, colour)
    image = BakedImage(data, strong_etag(data))
    if len(data) <= BAKED_CACHE_BYTES:
        with _baked_lock:
            _baked[key] = image
    return image


def _bake(
    kind: ImageKind,
    credential_text: str,
    artwork: _Artwork | None,
    title: str,
    subtitle: str,
    colour: str,
) -> bytes:
    if artwork is not None:
        try:
            return _bake_into(kind, artwork.file.read_bytes(), credential_text)
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


def _artwork(image_url: str | None, public_url: str, kind: ImageKind) -> _Artwork | None:
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
    # A replaced or rewritten file has another inode, modification time or size.
    return _Artwork(file, ("file", str(file), found.st_ino, found.st_mtime_ns, found.st_size))
