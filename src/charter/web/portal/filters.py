"""The portal lists' filters: read from a GET form's query string, so every view is a URL."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from charter.core.errors import Invalid
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.partners.taxonomy import Choice

E = TypeVar("E", bound=StrEnum)


def choice(kind: type[E], value: str | None, field: str) -> E | None:
    """``value`` as one of ``kind``; blank means no filter; :class:`Invalid` naming ``field``."""
    if value is None or not value.strip():
        return None
    try:
        return kind(value.strip())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise Invalid.field(field, f"must be one of {allowed}") from None


def blank_to_none(value: str | None) -> str | None:
    """A text filter stripped; blank means no filter."""
    if value is None:
        return None
    return value.strip() or None


def url_with(path: str, values: dict[str, str | None], **changes: str | None) -> str:
    """``path`` with the non-blank ``values`` (and ``changes``) as its query string."""
    merged = {**values, **changes}
    query = urlencode([(name, value) for name, value in merged.items() if value])
    return f"{path}?{query}" if query else path


def code_choice(choices: Sequence[Choice], value: str | None, field: str) -> str | None:
    """``value`` as the code of one of ``choices`` (the program's taxonomy); blank means no
    filter; :class:`Invalid` naming ``field`` for any other."""
    if value is None or not value.strip():
        return None
    code = value.strip()
    if any(option.code == code for option in choices):
        return code
    allowed = ", ".join(option.code for option in choices)
    raise Invalid.field(field, f"must be one of {allowed}")


def taxonomy_labels(db: Session) -> dict[str, object]:
    """What a page showing stored codes needs: the program's lists and each code's label."""
    lists = taxonomy.read(db)
    return {
        "region_labels": lists.labels(TaxonomyKind.REGION),
        "type_labels": lists.labels(TaxonomyKind.PARTNER_TYPE),
        "track_labels": lists.labels(TaxonomyKind.TRACK),
        "taxonomy": lists,
    }
