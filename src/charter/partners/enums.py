"""The partner domain's named values: firm types, statuses, regions, tracks, onboarding checks.

Apart from the tables so that the pure rules and the API shapes can use them without the ORM.
"""

from __future__ import annotations

from enum import StrEnum


class PartnerType(StrEnum):
    """What kind of business the firm does with the vendor."""

    RESELLER = "reseller"
    VAR = "var"
    IMPLEMENTATION = "implementation"
    MSP = "msp"
    INTEGRATION = "integration"
    DISTRIBUTOR = "distributor"


class PartnerStatus(StrEnum):
    """Lifecycle of a firm."""

    APPLICANT = "applicant"
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class Region(StrEnum):
    """Sales regions a firm operates in."""

    NA = "na"
    LATAM = "latam"
    EMEA = "emea"
    APAC = "apac"


class Track(StrEnum):
    """A person's role track, and a certification's track."""

    SALES = "sales"
    TECHNICAL = "technical"
    SUPPORT = "support"
    SPECIALTY = "specialty"


class OnboardingCheck(StrEnum):
    """The checks a firm passes before it can become active."""

    IDENTITY_VERIFIED = "identity_verified"
    ELIGIBILITY = "eligibility"
    AGREEMENT_SIGNED = "agreement_signed"
    SECURITY_POSTURE = "security_posture"


class InvitationKind(StrEnum):
    """What confirming an invitation does."""

    PERSON = "person"  # the address's owner joins the firm
    EMAIL = "email"  # the address is added to a colleague


class InvitationState(StrEnum):
    """Where an invitation stands, as its firm sees it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    EXPIRED = "expired"  # pending past its expiry: never stored, read off the clock
    CANCELLED = "cancelled"
