"""Licensing's named values: license and agreement statuses, renewal modes, fee periods."""

from __future__ import annotations

from enum import StrEnum


class LicenseStatus(StrEnum):
    """Where a license is in its lifecycle; every change is an event with its reason."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    REVOKED = "revoked"
    TERMINATED = "terminated"


class AgreementStatus(StrEnum):
    """A signed agreement is in force until the firm signs a newer version of its template."""

    ACTIVE = "active"
    SUPERSEDED = "superseded"


class Renewal(StrEnum):
    """How an agreement's term renews."""

    AUTOMATIC = "automatic"
    ON_REQUEST = "on_request"
    NONE = "none"


class FeePeriod(StrEnum):
    """How often a fee is due."""

    ONCE = "once"
    MONTH = "month"
    YEAR = "year"
