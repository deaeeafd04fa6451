"""Text that every database can store and every page can show.

PostgreSQL refuses NUL characters and lone surrogates, and control characters have no place
in names or in credentials (JSON-LD canonicalizers disagree on how to escape them), so input
is checked here once and refused as a field error instead of failing inside the database.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator

from charter.core.errors import Invalid

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


def storable_text(value: str, *, multiline: bool = False) -> str:
    """``value`` stripped; :class:`ValueError` for text no database can store or show as a line."""
    return clean_text(value, multiline=multiline).strip()


def text_filter(value: str | None, field: str) -> str | None:
    """A free-text filter, stripped; blank means no filter; :class:`Invalid` naming ``field``."""
    if value is None:
        return None
    try:
        text = storable_text(value)
    except ValueError as error:
        raise Invalid.field(field, str(error)) from None
    return text or None


def is_storable(value: str) -> bool:
    """Whether ``value`` is a line a database can store (a lookup by it can only miss)."""
    try:
        storable_text(value)
    except ValueError:
        return False
    return True


def normalize_email(value: str, field: str = "email") -> str:
    """A syntactically valid email, lower-cased; :class:`Invalid` naming ``field`` otherwise."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise Invalid.field(field, str(error)) from None


def _single_line(value: str) -> str:
    return clean_text(value)


def _multiline(value: str) -> str:
    return clean_text(value, multiline=True)


Line = Annotated[str, AfterValidator(_single_line)]
"""A one-line string (names, emails, reasons)."""

Paragraphs = Annotated[str, AfterValidator(_multiline)]
"""Free text that may span lines (descriptions, narratives)."""
