"""Marking page text for translation where Python, not a template, writes it.

Templates translate their own text ({% trans %}, ``_()``). Labels defined in Python and shown
by a template (navigation sections, a credential's status banner) are marked with :func:`N_`
where they are defined, so the catalogue's extraction finds them, and translated where the
template shows them (``{{ _(item.label) }}``).
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the name extractors look for (gettext_noop)
    """``message`` unchanged: marks it for the catalogue; the template translates it."""
    return message
