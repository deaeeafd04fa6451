"""Text that every database can store and every page can show.

PostgreSQL refuses NUL characters and lone surrogates, and control characters have no place
in names or in credentials (JSON-LD canonicalizers disagree on how to escape them), so input
is checked here once and refused as a field error instead of failing inside the database.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_LINE_BREAKS = frozenset({"\n", "\r"})


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged; :class:`ValueError` if it holds characters we refuse to store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains characters that are not valid Unicode") from None
    for char in value:
        if unicodedata.category(char) != "Cc" or char == "\t":
            continue
        if multiline and char in _LINE_BREAKS:
            continue
        raise ValueError("contains control characters")
    return value


def _single_line(value: str) -> str:
    return clean_text(value)


def _multiline(value: str) -> str:
    return clean_text(value, multiline=True)


Line = Annotated[str, AfterValidator(_single_line)]
"""A one-line string (names, emails, reasons)."""

Paragraphs = Annotated[str, AfterValidator(_multiline)]
"""Free text that may span lines (descriptions, narratives)."""
