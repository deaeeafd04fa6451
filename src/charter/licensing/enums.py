"""Licensing's named values: license and agreement statuses, renewal modes, fee periods,
seat models and activation states."""

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


class SeatModel(StrEnum):
    """How a license's seats are held by deployments (its activations).

    A node-locked seat stays with the machine that activated it until it is deactivated; a
    floating seat is a lease the deployment keeps by heartbeats, freed when they stop.
    """

    NODE_LOCKED = "node_locked"
    FLOATING = "floating"


class ActivationState(StrEnum):
    """Where an activation is: holding a seat, released by its deployment or staff, or reaped
    because its heartbeats stopped (floating seats only)."""

    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    REAPED = "reaped"
