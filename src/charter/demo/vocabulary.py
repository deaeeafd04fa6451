"""The tracks, regions and partner types the sample program uses: the codes of the default
taxonomy (:mod:`charter.partners.taxonomy_defaults`), which the migrations seed.

The sample is scripted around them (who sells, who implements, where firms are), so it names
them; a real program defines its own lists instead.
"""

from __future__ import annotations

from enum import StrEnum


class PartnerType(StrEnum):
    """The sample's partner types."""

    RESELLER = "reseller"
    VAR = "var"
    IMPLEMENTATION = "implementation"
    MSP = "msp"
    INTEGRATION = "integration"
    DISTRIBUTOR = "distributor"


class Region(StrEnum):
    """The sample's regions."""

    NA = "na"
    LATAM = "latam"
    EMEA = "emea"
    APAC = "apac"


class Track(StrEnum):
    """The sample's tracks."""

    SALES = "sales"
    TECHNICAL = "technical"
    SUPPORT = "support"
    SPECIALTY = "specialty"
