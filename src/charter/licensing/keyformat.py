"""License keys people can type: ``CHL-XXXXX-XXXXX-XXXXX-XXXXX-C``.

Twenty Crockford base32 characters carry 100 random bits from :mod:`secrets`; the last
character is a Damm check character over the same alphabet, so that any one mistyped
character and any two adjacent characters swapped are caught before a lookup is made.

Damm's check needs a totally anti-symmetric quasigroup of the alphabet's order; over the field
GF(32) (polynomial x^5 + x^2 + 1), ``a * b = 2a + b`` is one: for a fixed left operand it is a
bijection (a substitution changes the result), and ``2(2c + a) + b = 2(2c + b) + a`` only when
``a = b`` (a swap of different characters changes it). Unlike Crockford's own mod-37 check,
the check character stays within the 32 characters of the key, and the check covers itself.

Input is forgiving as Crockford's encoding is: case, spaces and hyphens do not matter, ``I``
and ``L`` read as ``1`` and ``O`` as ``0``; ``U`` is never a key character.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "CHL"
GROUPS = 4
GROUP_LENGTH = 5
BODY_LENGTH = GROUPS * GROUP_LENGTH
RANDOM_BITS = BODY_LENGTH * 5

_VALUES = {char: value for value, char in enumerate(ALPHABET)} | {"I": 1, "L": 1, "O": 0}
_FIELD_POLYNOMIAL = 0b100101  # x^5 + x^2 + 1, irreducible over GF(2)


def _double(value: int) -> int:
    """``value`` times ``x`` in GF(32)."""
    value <<= 1
    return value ^ _FIELD_POLYNOMIAL if value & 0b100000 else value


def _interim(values: list[int]) -> int:
    interim = 0
    for value in values:
        interim = _double(interim) ^ value
    return interim


def check_character(body: str) -> str:
    """The Damm check character of ``body`` (canonical key characters)."""
    return ALPHABET[_double(_interim([_VALUES[char] for char in body]))]


def is_consistent(characters: str) -> bool:
    """Whether ``characters`` (body then check character, canonical) pass the check."""
    return _interim([_VALUES[char] for char in characters]) == 0


def format_key(body: str) -> str:
    """The printed key of a 20-character ``body``: prefix, groups and check character."""
    groups = [body[start : start + GROUP_LENGTH] for start in range(0, BODY_LENGTH, GROUP_LENGTH)]
    return "-".join([PREFIX, *groups, check_character(body)])


def generate() -> str:
    """A fresh key with 100 random bits."""
    value = secrets.randbits(RANDOM_BITS)
    body = "".join(ALPHABET[(value >> shift) & 31] for shift in range(RANDOM_BITS - 5, -1, -5))
    return format_key(body)


class MalformedKey(ValueError):
    """Text that is not a license key; the message says what is wrong with it."""


def normalize(text: str) -> str:
    """The canonical printed form of a key typed as ``text``; :class:`MalformedKey` if it is
    not one (wrong length, a character keys never hold, or a check that fails)."""
    compact = "".join(text.split()).replace("-", "").upper()
    if compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    if len(compact) != BODY_LENGTH + 1:
        raise MalformedKey(
            f"a license key has {BODY_LENGTH + 1} characters after {PREFIX}, not {len(compact)}"
        )
    canonical = []
    for char in compact:
        value = _VALUES.get(char)
        if value is None:
            raise MalformedKey(f"{char!r} is never part of a license key")
        canonical.append(ALPHABET[value])
    characters = "".join(canonical)
    if not is_consistent(characters):
        raise MalformedKey("the key's check character does not match: a character is mistyped")
    return format_key(characters[:BODY_LENGTH])


def display_prefix(key: str) -> str:
    """The part of a key shown in lists (its first group): not enough to use it."""
    return key[: len(PREFIX) + 1 + GROUP_LENGTH]
