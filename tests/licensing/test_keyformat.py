"""License keys: typeable, forgiving of case and look-alikes, and their check catches typos."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.licensing import keyformat
from charter.licensing.keyformat import ALPHABET, BODY_LENGTH, MalformedKey

KEY = re.compile(r"^CHL(-[0-9A-HJKMNP-TV-Z]{5}){4}-[0-9A-HJKMNP-TV-Z]$")

bodies = st.text(alphabet=ALPHABET, min_size=BODY_LENGTH, max_size=BODY_LENGTH)


def _characters(key: str) -> str:
    """The key's 21 characters after the prefix: body and check character."""
    return key.removeprefix("CHL-").replace("-", "")


def _typed(characters: str) -> str:
    return "CHL-" + characters


def test_a_generated_key_has_the_printed_form_and_passes_its_check():
    key = keyformat.generate()

    assert KEY.match(key), key
    assert keyformat.normalize(key) == key
    assert keyformat.display_prefix(key) == key[:9]


def test_generated_keys_differ():
    keys = {keyformat.generate() for _ in range(2000)}

    assert len(keys) == 2000


def test_the_body_carries_at_least_100_random_bits():
    assert keyformat.RANDOM_BITS >= 100
    assert len(ALPHABET) ** BODY_LENGTH == 2**keyformat.RANDOM_BITS


@given(bodies)
def test_case_hyphens_spaces_and_look_alikes_are_forgiven(body):
    key = keyformat.format_key(body)
    sloppy = key.lower().replace("-", " ").replace("1", "l").replace("0", "o")

    assert keyformat.normalize(sloppy) == key
    assert keyformat.normalize(_characters(key)) == key


@given(bodies, st.data())
def test_any_single_mistyped_character_is_caught(body, data):
    characters = _characters(keyformat.format_key(body))
    position = data.draw(st.integers(0, len(characters) - 1))
    typo = data.draw(st.sampled_from([c for c in ALPHABET if c != characters[position]]))
    mistyped = characters[:position] + typo + characters[position + 1 :]

    with pytest.raises(MalformedKey, match="check character"):
        keyformat.normalize(_typed(mistyped))


@given(bodies, st.data())
def test_any_two_adjacent_characters_swapped_are_caught(body, data):
    characters = _characters(keyformat.format_key(body))
    swappable = [i for i in range(len(characters) - 1) if characters[i] != characters[i + 1]]
    if not swappable:
        return
    i = data.draw(st.sampled_from(swappable))
    swapped = characters[:i] + characters[i + 1] + characters[i] + characters[i + 2 :]

    with pytest.raises(MalformedKey, match="check character"):
        keyformat.normalize(_typed(swapped))


def test_every_substitution_and_swap_of_one_key_is_caught():
    """Exhaustively, for one key: every other character at every place, every adjacent swap."""
    characters = _characters(keyformat.generate())
    for position in range(len(characters)):
        for typo in ALPHABET:
            if typo == characters[position]:
                continue
            mistyped = characters[:position] + typo + characters[position + 1 :]
            assert not keyformat.is_consistent(mistyped), (position, typo)
        if position + 1 < len(characters) and characters[position] != characters[position + 1]:
            a, b = characters[position], characters[position + 1]
            swapped = characters[:position] + b + a + characters[position + 2 :]
            assert not keyformat.is_consistent(swapped), position


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CHL-ABCDE", "21 characters"),
        ("", "21 characters"),
        ("CHL-UUUUU-UUUUU-UUUUU-UUUUU-U", "'U' is never part"),
        ("CHL-ABCDE-ABCDE-ABCDE-ABCD*-0", r"'\*' is never part"),
    ],
)
def test_what_is_not_a_key_is_refused_with_a_reason(text, message):
    with pytest.raises(MalformedKey, match=message):
        keyformat.normalize(text)
