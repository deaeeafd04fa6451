"""Places and people: where firms are and the Faker locale their staff's names come from, what
firms are called and how big they are, their customers, the reasons for the program's
sanctions, and the program's own staff who sign in to the demo."""

from __future__ import annotations

import unicodedata

from charter.demo.vocabulary import PartnerType, Region

ADMIN_EMAIL = "admin@nimbus.example"
ADMIN_PASSWORD = "nimbus-demo-admin"  # noqa: S105 - a published demo credential, on purpose
MANAGER_EMAIL = "pm@nimbus.example"
MANAGER_PASSWORD = "nimbus-demo-manager"  # noqa: S105 - a published demo credential
PARTNER_ADMIN_PASSWORD = "nimbus-demo-partner"  # noqa: S105 - a published demo credential
GOVERNANCE_EMAIL = "governance@nimbus.example"
GOVERNANCE_PASSWORD = "nimbus-demo-governance"  # noqa: S105 - a published demo credential
AUDITOR_EMAIL = "auditor@nimbus.example"
AUDITOR_PASSWORD = "nimbus-demo-auditor"  # noqa: S105 - a published demo credential
PARTNER_MEMBER_PASSWORD = "nimbus-demo-member"  # noqa: S105 - a published demo credential

COUNTRIES: dict[Region, list[tuple[str, str, str]]] = {
    Region.NA: [("US", "en_US", "Inc."), ("US", "en_US", "LLC"), ("CA", "en_CA", "Ltd.")],
    Region.LATAM: [
        ("MX", "es_MX", "S.A. de C.V."),
        ("BR", "pt_BR", "Ltda."),
        ("AR", "es_AR", "S.R.L."),
        ("CO", "es_CO", "S.A.S."),
        ("CL", "es_CL", "SpA"),
    ],
    Region.EMEA: [
        ("GB", "en_GB", "Ltd"),
        ("DE", "de_DE", "GmbH"),
        ("FR", "fr_FR", "SAS"),
        ("NL", "nl_NL", "B.V."),
        ("ES", "es_ES", "S.L."),
        ("SE", "sv_SE", "AB"),
        ("IE", "en_IE", "Ltd"),
        ("IT", "it_IT", "S.r.l."),
        ("PL", "pl_PL", "sp. z o.o."),
    ],
    Region.APAC: [
        ("AU", "en_AU", "Pty Ltd"),
        ("IN", "en_IN", "Pvt Ltd"),
        ("NZ", "en_NZ", "Ltd"),
        ("PH", "en_PH", "Inc."),
    ],
}
REGION_WEIGHTS = {Region.NA: 35, Region.EMEA: 30, Region.APAC: 20, Region.LATAM: 15}
NAME_PREFIXES = (
    "Alderbrook", "Bluefjord", "Cobaltine", "Driftwood", "Emberlane", "Fernhollow", "Glasswing",
    "Halcyon Bay", "Ironbark", "Juniper Ridge", "Kestrelworks", "Larchmont Hill", "Moonquarry",
    "Northgale", "Oakharbor", "Pinecrest Vale", "Quillstone", "Redfern Point", "Saltmarsh",
    "Tidewater Row", "Umberfield", "Vantablue", "Wrenfield", "Yarrowgate", "Zephyrine",
    "Ambercliff", "Brightwater Mill", "Cinderpeak", "Dunmore Lane", "Eastbrook Forge",
    "Foxglove", "Granitehill", "Heatherly", "Islewood", "Jasperline", "Kittiwake",
    "Lanternfish", "Marrowbank", "Nettlecombe", "Orchardine", "Palisade Creek", "Quarrybrook",
    "Rowanvale", "Silverbirch", "Thistledown", "Upland Crest", "Verdigris", "Willowmere",
)  # fmt: skip
NAME_CORES = {
    "small": ("Cloud Partners", "IT Services", "Consulting", "Digital", "Tech Solutions"),
    "mid": ("Systems", "Technologies", "Cloud Services", "Integration Group", "Data Works"),
    "large": ("Global Services", "Group", "Networks", "Distribution", "Managed Cloud"),
}
TYPES = {
    "small": (PartnerType.RESELLER, PartnerType.IMPLEMENTATION, PartnerType.VAR, PartnerType.MSP),
    "mid": (
        PartnerType.VAR,
        PartnerType.MSP,
        PartnerType.IMPLEMENTATION,
        PartnerType.INTEGRATION,
        PartnerType.RESELLER,
    ),
    "large": (
        PartnerType.DISTRIBUTOR,
        PartnerType.MSP,
        PartnerType.INTEGRATION,
        PartnerType.VAR,
        PartnerType.IMPLEMENTATION,
    ),
}
HEADCOUNT = {"small": (3, 6), "mid": (9, 15), "large": (22, 32)}
CUSTOMERS = (
    "Alder Freight", "Bluewater Clinics", "Cedar County Schools", "Dovetail Insurance",
    "Elmstead Retail", "Fairhaven Logistics", "Greyhound Bay Ferries", "Hollowell Foods",
    "Inkwell Publishing", "Junco Energy", "Kelpie Mutual", "Lindenfield University",
    "Maplestone Bank", "Northmere Water", "Oriel Pharmaceuticals", "Pebblebrook Hotels",
    "Quayside Port Authority", "Ravenscar Manufacturing", "Stonechat Telecom", "Tern Air",
)  # fmt: skip
SUSPENSION_REASONS = (
    "Partner agreement renewal overdue by more than 60 days",
    "Security posture review failed: no multi-factor authentication on partner console",
    "Unpaid marketplace fees past 90 days",
)
AWARD_REVOCATIONS = (
    "Exam integrity violation: the proctor recording shows a second person answering",
    "Issued in error: the exam result belonged to another candidate with the same name",
    "Candidate shared exam content on a public forum (policy 4.2)",
    "Misrepresentation: customer reference could not be confirmed by the customer",
    "Exam integrity violation: answers matched a leaked item bank",
    "Holder requested removal after leaving the partner program",
)
AWARD_SUSPENSIONS = (
    "Pending investigation of an exam irregularity reported by the proctor",
    "On hold while a customer reference is re-verified",
    "Pending review of a complaint about misrepresented qualifications",
    "Audit of lab results in progress",
)


def slug(text: str, separator: str = "") -> str:
    """``text`` in lower-case ASCII letters and digits, for email addresses and host names."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = ["".join(ch for ch in word if ch.isalnum()) for word in ascii_text.split()]
    return separator.join(word for word in words if word) or "x"
