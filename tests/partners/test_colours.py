"""A track's badge colour: the one set, written #rrggbb, else one from the palette by code."""

from __future__ import annotations

import pytest

from charter.partners import colours


def _contrast_with_white(colour: str) -> float:
    def channel(offset: int) -> float:
        value = int(colour[offset : offset + 2], 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    return 1.05 / (luminance + 0.05)


@pytest.mark.parametrize("typed", ["#1F6FEB", " #1f6feb "])
def test_a_colour_is_stored_lowercase(typed):
    assert colours.colour_value(typed) == "#1f6feb"


@pytest.mark.parametrize("typed", ["", "blue", "#fff", "#1f6feb0", "1f6feb#", "#1f6fex"])
def test_anything_else_is_refused_with_the_rule(typed):
    with pytest.raises(ValueError, match="#rrggbb"):
        colours.colour_value(typed)


def test_the_palette_reads_well_and_picks_by_the_code_alone():
    assert all(_contrast_with_white(colour) >= 4.5 for colour in colours.PALETTE)
    # Pinned: the same code gets the same colour in every process and release.
    assert colours.palette_colour("alliances") == "#b93815"
    assert colours.palette_colour("presales") == "#5925dc"
    picked = {colours.palette_colour(f"track-{n}") for n in range(40)}
    assert picked <= set(colours.PALETTE)
    assert len(picked) >= 5
    assert colours.badge_colour("presales", "#0e7090") == "#0e7090"
    assert colours.badge_colour("presales", None) == "#5925dc"
