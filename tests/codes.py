"""The default taxonomy's codes (``charter.partners.taxonomy_defaults``), named for tests.

The test database starts with the default lists, as a migrated one does; tests that need
other entries add them through the taxonomy service.
"""

from __future__ import annotations

from enum import StrEnum


class PartnerType(StrEnum):
    """The default partner types."""

    RESELLER = "reseller"
    VAR = "var"
    IMPLEMENTATION = "implementation"
    MSP = "msp"
    INTEGRATION = "integration"
    DISTRIBUTOR = "distributor"


class Region(StrEnum):
    """The default regions."""

    NA = "na"
    LATAM = "latam"
    EMEA = "emea"
    APAC = "apac"


class Track(StrEnum):
    """The default tracks."""

    SALES = "sales"
    TECHNICAL = "technical"
    SUPPORT = "support"
    SPECIALTY = "specialty"
