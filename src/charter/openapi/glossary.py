"""Descriptions of the fields and parameters whose schemas say nothing of themselves.

A field's own ``Field(description=...)`` (or a parameter's) always wins; these fill the rest.
Most names mean one thing wherever they appear (``partner_id``, ``valid_until``): they are
described once in :data:`FIELDS`. A name that means something else in one schema is
described for that schema in :data:`SCHEMA_FIELDS`.
"""

from __future__ import annotations

import re

FIELDS: dict[str, str] = {}

SCHEMA_FIELDS: dict[str, dict[str, str]] = {}

PARAMETERS: dict[str, str] = {}

PATH_PARAMETERS: dict[tuple[str, str], str] = {}

_VARIANT = re.compile(r"-(Input|Output)$")


def describe_property(schema: str, field: str) -> str | None:
    """The description of ``field`` in the component schema named ``schema``, if known."""
    own = SCHEMA_FIELDS.get(_VARIANT.sub("", schema), {})
    return own.get(field) or FIELDS.get(field)


def describe_parameter(path: str, name: str) -> str | None:
    """The description of the parameter ``name`` of the operations at ``path``, if known."""
    return PATH_PARAMETERS.get((path, name)) or PARAMETERS.get(name)
