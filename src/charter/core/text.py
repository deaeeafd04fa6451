"""Text that every database can store and every page can show.

PostgreSQL refuses NUL characters and lone surrogates, and control characters have no place
in names or in credentials (JSON-LD canonicalizers disagree on how to escape them), so input
is checked here once and refused as a field error instead of failing inside the database.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BeforeValidator, StringConstraints

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


def _checked(value: Any, *, multiline: bool) -> Any:
    # Checked before stripping, so that a line break at either end is refused, not hidden.
    # Bytes are decoded as pydantic's lax mode would have, so that they are checked too.
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8")
    return clean_text(value, multiline=multiline) if isinstance(value, str) else value


def _refuse_in_line(value: Any) -> Any:
    return _checked(value, multiline=False)


def _refuse_in_paragraphs(value: Any) -> Any:
    return _checked(value, multiline=True)


OneLine = BeforeValidator(_refuse_in_line)
"""Refuse what :func:`clean_text` refuses, line breaks included; for domain-specific strings."""

_SEVERAL_LINES = BeforeValidator(_refuse_in_paragraphs)

# Constraints come before the check in each Annotated: pydantic runs a BeforeValidator ahead
# of the str schema, and lengths next to ``str`` give its native messages and JSON Schema.

Line = Annotated[str, StringConstraints(strip_whitespace=True), OneLine]
"""One line of text, stripped; may be blank. Give it a length (``Field(max_length=...)``)."""

Paragraphs = Annotated[str, StringConstraints(strip_whitespace=True), _SEVERAL_LINES]
"""Free text that may span lines, stripped; may be blank. Give it a length."""

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
]
"""A name people read: one non-blank line of at most 200 characters."""

ExternalId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
]
"""The id a record has in the caller's own system (a CRM, an LMS): one non-blank line."""

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40), OneLine]
"""An opaque Charter id (``prt_…``) as given in a request; whether it exists is the service's."""

Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
    OneLine,
]
"""A short code (a certification's ``ADM-201``): letters, digits, ``.``, ``_`` and ``-``."""

Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    _SEVERAL_LINES,
]
"""Why something changed: non-blank, may span lines, at most 2000 characters."""

Note = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000),
    _SEVERAL_LINES,
]
"""A remark: may be blank, may span lines, at most 2000 characters."""
