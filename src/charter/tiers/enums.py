"""The tiers domain's named values: where a firm badge stands.

Apart from the tables so that the pure rules and the API shapes can use them without the ORM.
"""

from __future__ import annotations

from enum import StrEnum


class BadgeStatus(StrEnum):
    """Where a firm badge stands."""

    ACTIVE = "active"
    REVOKED = "revoked"
