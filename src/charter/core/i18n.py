"""Marking text for translation where Python writes it, below the pages that translate it.

A label or title a service defines and a page shows (a report's title, a column's heading) is
marked with :func:`N_` where it is defined: the catalogue's extraction finds it there, the
value stays the English text (what the API and CSV serve), and the page translates it for its
reader. ``charter.web.i18n`` re-exports it for the pages' own modules.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the name extractors look for (gettext_noop)
    """``message`` unchanged: marks it for the catalogue; the page translates it."""
    return message
