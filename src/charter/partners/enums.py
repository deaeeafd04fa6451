"""The partner domain's named values: statuses, onboarding checks, the taxonomy's kinds.

Firm types, regions and tracks are not here: each program defines its own (the taxonomy).

Apart from the tables so that the pure rules and the API shapes can use them without the ORM.
"""

from __future__ import annotations

from enum import StrEnum


class TaxonomyKind(StrEnum):
    """The lists each program defines for itself (see :mod:`charter.partners.taxonomy`)."""

    TRACK = "track"
    REGION = "region"
    PARTNER_TYPE = "partner_type"


class PartnerStatus(StrEnum):
    """Lifecycle of a firm."""

    APPLICANT = "applicant"
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


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
