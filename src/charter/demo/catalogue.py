"""The program's catalogue: its certifications with the criteria partners see, the revised
Professional criteria, and the partner tiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from charter.demo.vocabulary import Track


@dataclass(frozen=True, slots=True)
class Cert:
    """A certification of the program: what it is, and what earning it takes."""

    code: str
    name: str
    track: Track
    level: str
    validity_days: int
    renewal_window_days: int
    description: str
    narrative: str
    requirements: dict[str, Any]
    training: str | None
    exam: str
    pass_score: float
    labs: tuple[str, ...]
    references: int = 0
    prerequisite: str | None = None


CERTIFICATIONS = (
    Cert(
        code="NCSP",
        name="Nimbus Certified Sales Professional",
        track=Track.SALES,
        level="associate",
        validity_days=730,
        renewal_window_days=90,
        description=(
            "For partner sellers who position Nimbus Cloud: the platform's value, pricing "
            "models, marketplace and co-selling motions."
        ),
        narrative=(
            "Complete the Nimbus Sales Foundations course (NIM-SALES-101) and pass the NCSP "
            "exam with a score of at least 70%. The exam covers the Nimbus portfolio, "
            "consumption pricing, committed-use discounts and deal registration."
        ),
        requirements={
            "trainings": ["NIM-SALES-101"],
            "assessments": [{"code": "NCSP-EXAM", "min_score": 70}],
        },
        training="NIM-SALES-101",
        exam="NCSP-EXAM",
        pass_score=70,
        labs=(),
    ),
    Cert(
        code="NCSA-A",
        name="Nimbus Certified Solutions Architect – Associate",  # noqa: RUF001
        track=Track.TECHNICAL,
        level="associate",
        validity_days=730,
        renewal_window_days=90,
        description=(
            "For engineers who design workloads on Nimbus Cloud: compute, storage, "
            "networking, identity and cost-aware architecture."
        ),
        narrative=(
            "Complete Architecting on Nimbus (NIM-ARCH-101), pass the hands-on networking lab "
            "(a multi-zone virtual network with private endpoints) and pass the NCSA-A exam "
            "with at least 72%."
        ),
        requirements={
            "trainings": ["NIM-ARCH-101"],
            "labs": ["NCSA-A-LAB-NETWORKING"],
            "assessments": [{"code": "NCSA-A-EXAM", "min_score": 72}],
        },
        training="NIM-ARCH-101",
        exam="NCSA-A-EXAM",
        pass_score=72,
        labs=("NCSA-A-LAB-NETWORKING",),
    ),
    Cert(
        code="NCSA-P",
        name="Nimbus Certified Solutions Architect – Professional",  # noqa: RUF001
        track=Track.TECHNICAL,
        level="professional",
        validity_days=1095,
        renewal_window_days=120,
        description=(
            "For lead architects who run migrations and complex multi-region designs on "
            "Nimbus Cloud for customers."
        ),
        narrative=(
            "Hold a current Solutions Architect – Associate award, pass the migration lab, "  # noqa: RUF001
            "pass the NCSA-P exam with at least 75% and bring two customer references for "
            "Nimbus projects you led."
        ),
        requirements={
            "prerequisites": ["NCSA-A"],
            "labs": ["NCSA-P-LAB-MIGRATION"],
            "assessments": [{"code": "NCSA-P-EXAM", "min_score": 75}],
            "customer_references": 2,
        },
        training=None,
        exam="NCSA-P-EXAM",
        pass_score=75,
        labs=("NCSA-P-LAB-MIGRATION",),
        references=2,
        prerequisite="NCSA-A",
    ),
    Cert(
        code="NCSE",
        name="Nimbus Certified Support Engineer",
        track=Track.SUPPORT,
        level="associate",
        validity_days=730,
        renewal_window_days=90,
        description=(
            "For partner support staff who run first- and second-line support for Nimbus "
            "Cloud customers: diagnostics, escalations and incident handling."
        ),
        narrative=(
            "Complete Supporting Nimbus Customers (NIM-SUPPORT-201), pass the troubleshooting "
            "lab and pass the NCSE exam with at least 70%."
        ),
        requirements={
            "trainings": ["NIM-SUPPORT-201"],
            "labs": ["NCSE-LAB-TROUBLESHOOTING"],
            "assessments": [{"code": "NCSE-EXAM", "min_score": 70}],
        },
        training="NIM-SUPPORT-201",
        exam="NCSE-EXAM",
        pass_score=70,
        labs=("NCSE-LAB-TROUBLESHOOTING",),
    ),
    Cert(
        code="NSEC",
        name="Nimbus Security Specialty",
        track=Track.SPECIALTY,
        level="professional",
        validity_days=1095,
        renewal_window_days=120,
        description=(
            "For architects who secure Nimbus Cloud estates: identity federation, key "
            "management, zero-trust networking and compliance reporting."
        ),
        narrative=(
            "Hold a current Solutions Architect – Associate award, complete Securing Nimbus "  # noqa: RUF001
            "(NIM-SEC-301), pass the zero-trust lab and pass the NSEC exam with at least 80%."
        ),
        requirements={
            "prerequisites": ["NCSA-A"],
            "trainings": ["NIM-SEC-301"],
            "labs": ["NSEC-LAB-ZERO-TRUST"],
            "assessments": [{"code": "NSEC-EXAM", "min_score": 80}],
        },
        training="NIM-SEC-301",
        exam="NSEC-EXAM",
        pass_score=80,
        labs=("NSEC-LAB-ZERO-TRUST",),
        prerequisite="NCSA-A",
    ),
)
CERTS = {cert.code: cert for cert in CERTIFICATIONS}

# The partner tiers, introduced six months ago; customer satisfaction comes from surveys.
CSAT = "customer_satisfaction"
SURVEY_SOURCE = "Nimbus quarterly customer satisfaction survey"
TIERS_PUBLISHED = timedelta(days=182)
SURVEYS = (timedelta(days=190), timedelta(days=100), timedelta(days=12))
"""How long ago each survey's figures were imported (the last one puts a few firms at risk)."""
AT_RISK_AFTER_SURVEY = 2
"""Firms holding a tier whose satisfaction the last survey finds below it."""
TIERS: tuple[dict[str, Any], ...] = (
    {
        "key": "authorized",
        "name": "Authorized Partner",
        "rank": 1,
        "description": "A Nimbus partner in good standing that sells Nimbus Cloud.",
        "requirements": {
            "good_standing": True,
            "onboarding_complete": True,
            "min_certified_by_track": {"sales": 1},
        },
        "benefits": {
            "entitlements": ["partner-portal", "deal-registration"],
            "discount_percent": 10,
            "support_level": "standard",
        },
        "grace_days": 30,
    },
    {
        "key": "certified",
        "name": "Certified Partner",
        "rank": 2,
        "description": "Designs and delivers Nimbus Cloud solutions with certified architects.",
        "requirements": {
            "good_standing": True,
            "onboarding_complete": True,
            "min_certified_by_track": {"sales": 1, "technical": 2},
            "required_certifications": ["NCSA-A"],
            "min_track_record": {CSAT: 4.0},
        },
        "benefits": {
            "entitlements": ["partner-portal", "deal-registration", "nfr-licenses"],
            "discount_percent": 20,
            "support_level": "priority",
        },
        "grace_days": 45,
    },
    {
        "key": "elite",
        "name": "Elite Partner",
        "rank": 3,
        "description": (
            "Nimbus's most capable partners: professional architects, dedicated support "
            "engineers and consistently satisfied customers."
        ),
        "requirements": {
            "good_standing": True,
            "onboarding_complete": True,
            "min_certified_by_track": {"sales": 2, "technical": 5, "support": 1},
            "required_certifications": ["NCSA-P"],
            "min_track_record": {CSAT: 4.4},
        },
        "benefits": {
            "entitlements": [
                "partner-portal",
                "deal-registration",
                "nfr-licenses",
                "co-marketing-funds",
            ],
            "discount_percent": 30,
            "support_level": "dedicated partner manager",
        },
        "grace_days": 60,
    },
)

# A year ago the Professional criteria were tightened: a resilience lab, a third reference and
# a higher pass mark. Awards after that date are judged against version 2.
PRO_V2_NARRATIVE = (
    "From this version on: hold a current Solutions Architect – Associate award, pass the "  # noqa: RUF001
    "migration lab and the multi-region resilience lab, pass the NCSA-P exam with at least 78% "
    "and bring three customer references for Nimbus projects you led."
)
PRO_V2_REQUIREMENTS = {
    "prerequisites": ["NCSA-A"],
    "labs": ["NCSA-P-LAB-MIGRATION", "NCSA-P-LAB-RESILIENCE"],
    "assessments": [{"code": "NCSA-P-EXAM", "min_score": 78}],
    "customer_references": 3,
}

# Licensing, launched some ten months ago: three products, an agreement template for each.
LICENSING_LAUNCHED = timedelta(days=300)
PRODUCTS: tuple[dict[str, Any], ...] = (
    {
        "code": "NEG",
        "name": "Nimbus Edge Gateway",
        "description": "Runs Nimbus workloads on customer premises and at the edge.",
        "features": [
            {"key": "edge-routing", "name": "Edge routing"},
            {"key": "offline-cache", "name": "Offline cache"},
            {"key": "fleet-console", "name": "Fleet console"},
            {"key": "sso", "name": "Single sign-on"},
        ],
    },
    {
        "code": "NDC",
        "name": "Nimbus Data Connectors",
        "description": "Managed connectors that stream customer data into Nimbus Cloud.",
        "features": [
            {"key": "connector-runtime", "name": "Connector runtime"},
            {"key": "cdc-streams", "name": "Change data capture streams"},
            {"key": "api-access", "name": "Connector API"},
        ],
    },
    {
        "code": "NST",
        "name": "Nimbus Security Toolkit",
        "description": "Posture scanning and key management for Nimbus Cloud estates.",
        "features": [
            {"key": "posture-scanner", "name": "Posture scanner"},
            {"key": "key-vault-bridge", "name": "Key vault bridge"},
            {"key": "compliance-reports", "name": "Compliance reports"},
        ],
    },
)
_WORLDWIDE = {"regions": ["na", "latam", "emea", "apac"], "countries": []}
_RIGHTS = {
    "use": True,
    "reproduce": False,
    "distribute": True,
    "modify": False,
    "derivative_works": False,
    "sublicense": False,
    "white_label": False,
}
_AUDIT = {"allowed": True, "notice_days": 30, "max_per_year": 1}
USAGE_METRIC = "api_calls"
USAGE_CAP = 2_000_000
"""Connector API calls a license may make in a month before it is flagged."""
TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "code": "NEG-RESELL",
        "name": "Nimbus Edge Reseller Agreement",
        "product": "NEG",
        "seat_model": "node_locked",
        "terms": {
            "features": ["edge-routing", "offline-cache", "fleet-console"],
            "rights": _RIGHTS,
            "territory": _WORLDWIDE,
            "verticals": [],
            "term": {"months": 12, "renewal": "on_request"},
            "fee": {
                "model": "per_seat",
                "amount_per_seat": "240.00",
                "currency": "USD",
                "period": "year",
            },
            "royalty_percent": "15",
            "audit": _AUDIT,
            "termination": {
                "wind_down_days": 90,
                "duties": ["Stop new sales", "Migrate customers to another partner"],
            },
        },
        "requirements": {"min_certified_by_track": {"sales": 1}},
    },
    {
        "code": "NDC-USAGE",
        "name": "Nimbus Data Connectors Usage Agreement",
        "product": "NDC",
        "seat_model": "node_locked",
        "terms": {
            "features": ["connector-runtime", "cdc-streams", "api-access"],
            "rights": _RIGHTS,
            "territory": _WORLDWIDE,
            "verticals": [],
            "term": {"months": 24, "renewal": "automatic"},
            "fee": {
                "model": "usage",
                "unit": USAGE_METRIC,
                "currency": "USD",
                "tiers": [{"up_to": 1_000_000, "rate": "0.002"}, {"up_to": None, "rate": "0.001"}],
            },
            "royalty_percent": "10",
            "audit": _AUDIT,
            "termination": {"wind_down_days": 60, "duties": ["Stop new connector deployments"]},
            "usage_caps": {
                USAGE_METRIC: {"limit": USAGE_CAP, "period": "month", "overage": "allow_and_flag"}
            },
        },
        "requirements": {"min_certified_by_track": {"technical": 1}},
    },
    {
        "code": "NST-SPECIALIST",
        "name": "Nimbus Security Toolkit Specialist Agreement",
        "product": "NST",
        "seat_model": "floating",
        "terms": {
            "features": ["posture-scanner", "key-vault-bridge", "compliance-reports"],
            "rights": {**_RIGHTS, "distribute": False},
            "territory": _WORLDWIDE,
            "verticals": [],
            "term": {"months": 12, "renewal": "on_request"},
            "fee": {
                "model": "per_seat",
                "amount_per_seat": "900.00",
                "currency": "USD",
                "period": "year",
            },
            "royalty_percent": "20",
            "audit": _AUDIT,
            "termination": {"wind_down_days": 30, "duties": ["Uninstall the toolkit"]},
        },
        # Only firms with a certified security specialist may deploy it.
        "requirements": {"required_certifications": ["NSEC"]},
    },
)
TEMPLATE_BY_CODE = {template["code"]: template for template in TEMPLATES}
EDGE_V2_PUBLISHED = timedelta(days=120)
EDGE_V2_EFFECTIVE = timedelta(days=90)
EDGE_V2_SUMMARY = (
    "Royalty lowered from 15% to 12.5%, single sign-on added to the licensed features, and "
    "the wind-down period after termination extended to 120 days."
)
EDGE_V2_TERMS: dict[str, Any] = {
    **TEMPLATES[0]["terms"],
    "features": ["edge-routing", "offline-cache", "fleet-console", "sso"],
    "royalty_percent": "12.5",
    "termination": {
        "wind_down_days": 120,
        "duties": ["Stop new sales", "Migrate customers to another partner"],
    },
}
LICENSE_SUSPENSIONS = (
    "Invoice overdue by 60 days",
    "Deployment audit requested; use paused until it is complete",
    "Customer complaint under review",
)
LICENSE_REVOCATIONS = (
    "License key published in a public code repository",
    "Resold to a customer under embargo screening review; agreement breached",
    "Seats shared with an unlicensed affiliate",
)
NSEC_ANNULMENT = "Exam result annulled after a proctoring review"
