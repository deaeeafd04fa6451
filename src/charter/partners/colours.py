"""The colour a track's badges are drawn in: the one the program set, else one picked from a
small palette by the track's code, the same in every process and after every restart.

Pure: the taxonomy stores the set colour; the badge design asks :func:`badge_colour`.
"""

from __future__ import annotations

import re
import zlib

COLOUR_PATTERN = r"^#[0-9a-f]{6}$"
COLOUR_RULE = "a colour written #rrggbb (such as #1f6feb)"
_COLOUR = re.compile(COLOUR_PATTERN)

PALETTE = (
    "#175cd3",
    "#027a48",
    "#b42318",
    "#5925dc",
    "#0e7090",
    "#c11574",
    "#b93815",
    "#475467",
)
"""Colours for tracks without their own: each dark enough for white text and for the default
design's darker shade on its lighter tint (contrast above 4.5:1 against white)."""


def colour_value(value: str) -> str:
    """``value`` as a stored colour (``#rrggbb``, lowercase); :class:`ValueError` if it is not
    one."""
    colour = value.strip().lower()
    if _COLOUR.fullmatch(colour) is None:
        raise ValueError(f"must be {COLOUR_RULE}, not {value[:20]!r}")
    return colour


def palette_colour(code: str) -> str:
    """The palette's colour for a track ``code``: a checksum of the code, not ``hash()``, which
    differs between processes."""
    return PALETTE[zlib.crc32(code.encode()) % len(PALETTE)]


def badge_colour(code: str, colour: str | None) -> str:
    """The colour badges of track ``code`` are drawn in, given the colour set for it if any."""
    return colour or palette_colour(code)
