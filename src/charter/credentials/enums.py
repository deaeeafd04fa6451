"""The credentials domain's named values: award and credential statuses, subject types.

Apart from the tables so that the pure rules and the API shapes can use them without the ORM.
"""

from __future__ import annotations

from enum import StrEnum


class AwardStatus(StrEnum):
    """Where an award stands."""

    ACTIVE = "active"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class SubjectType(StrEnum):
    """Who holds an award: a person, or (with tiers) a whole firm."""

    PERSON = "person"
    FIRM = "firm"


class CredentialStatus(StrEnum):
    """Where an issued credential stands (expiry is in its signed ``validUntil``)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
