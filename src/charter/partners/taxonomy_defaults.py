"""The taxonomy a new program starts with: the tracks, regions and partner types Charter has
always offered, and the countries each default region groups.

Pure data: the migration that creates the taxonomy seeds it from here, and so do the test
database and the demo. A program changes its own lists afterwards (``charter taxonomy``).
"""

from __future__ import annotations

from typing import NamedTuple


class DefaultEntry(NamedTuple):
    """One entry of a default list."""

    code: str
    label: str
    description: str | None = None
    colour: str | None = None


TRACKS = (
    DefaultEntry("sales", "Sales", "Selling the vendor's products", "#b54708"),
    DefaultEntry("technical", "Technical", "Implementing and integrating the products", "#1f6feb"),
    DefaultEntry("support", "Support", "Supporting customers after the sale", "#1f7a4d"),
    DefaultEntry("specialty", "Specialty", "Specialist skills beyond the main tracks", "#6941c6"),
)
REGIONS = (
    DefaultEntry("na", "North America"),
    DefaultEntry("latam", "Latin America", "Mexico, Central and South America, the Caribbean"),
    DefaultEntry("emea", "EMEA", "Europe, the Middle East and Africa"),
    DefaultEntry("apac", "Asia-Pacific"),
)
PARTNER_TYPES = (
    DefaultEntry("reseller", "Reseller"),
    DefaultEntry("var", "Value-added reseller"),
    DefaultEntry("implementation", "Implementation partner"),
    DefaultEntry("msp", "Managed service provider"),
    DefaultEntry("integration", "Integration partner"),
    DefaultEntry("distributor", "Distributor"),
)

_NA = "US CA BM PM UM GL"
_LATAM = (
    "MX GT BZ SV HN NI CR PA CO VE EC PE BO CL AR UY PY BR GY SR GF FK GS "
    "CU JM HT DO PR BS TC KY VG VI AI AG KN MS GP DM MQ LC VC BB GD TT AW CW SX BQ MF BL"
)
_APAC = (
    "CN HK MO TW JP KR KP MN IN PK BD LK NP BT MV ID MY SG TH VN PH MM KH LA BN TL "
    "AU NZ PG FJ SB VU NC PF WS TO KI TV NR FM MH PW GU MP AS CK NU TK WF PN NF CX CC HM IO"
)
_EMEA = (
    # Europe
    "GB IE FR DE NL BE LU CH AT LI MC AD SM VA IT MT ES PT GI DK NO SE FI IS FO AX SJ "
    "EE LV LT PL CZ SK HU SI HR BA RS ME MK AL GR CY BG RO MD UA BY RU GG JE IM "
    "TR GE AM AZ KZ UZ TM KG TJ AF "
    # Middle East
    "IL PS JO LB SY IQ IR KW SA BH QA AE OM YE "
    # Africa
    "EG LY TN DZ MA EH SD SS ER DJ ET SO KE UG RW BI TZ MZ MW ZM ZW BW NA ZA LS SZ MG MU "
    "SC KM YT RE SH AO CD CG GA GQ CM CF TD NE NG BJ TG GH CI LR SL GN GW SN GM ML MR BF CV ST"
)

REGION_COUNTRIES: dict[str, tuple[str, ...]] = {
    "na": tuple(_NA.split()),
    "latam": tuple(_LATAM.split()),
    "emea": tuple(_EMEA.split()),
    "apac": tuple(_APAC.split()),
}
"""ISO 3166-1 alpha-2 codes of each default region; Antarctica and a few uninhabited
territories (AQ, BV, TF) belong to none."""
