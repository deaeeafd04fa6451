"""The demo program: Nimbus Cloud's partner program with three years of history, served locally.

``seed()`` plans a realistic history (firms applying, onboarding and going live, staff joining
and moving, training, exams, labs, references, awards issued, renewed, expired, suspended and
revoked) and replays it in time order through the services, with the clock frozen at each
step, so every timestamp and event in the log is where it would have been. The plan is drawn
from fixed seeds: the same program every time, dated relative to today.

Six months ago the program introduced partner tiers (Authorized, Certified, Elite), judged on
certified people, required certifications, onboarding, good standing and the customer
satisfaction figures imported from quarterly surveys. The weekly sweep re-evaluates every firm,
so firms hold tiers and signed tier badges today, and a few are at risk within their grace.
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charter.core import accounts, clock
from charter.core.auth import Principal, Role
from charter.core.models import Event, User
from charter.credentials.models import Award, AwardStatus
from charter.partners.models import (
    OnboardingCheck,
    Partner,
    PartnerStatus,
    PartnerType,
    Person,
    Region,
    Track,
)
from charter.programs.models import Assessment, AssessmentKind, Certification, CriteriaVersion
from charter.tiers.models import BadgeStatus, FirmTier, TierBadge

SEED = 20_230_601
HISTORY = timedelta(days=3 * 365)
DAY = timedelta(days=1)

ADMIN_EMAIL = "admin@nimbus.example"
ADMIN_PASSWORD = "nimbus-demo-admin"  # noqa: S105 - a published demo credential, on purpose
MANAGER_EMAIL = "pm@nimbus.example"
MANAGER_PASSWORD = "nimbus-demo-manager"  # noqa: S105 - a published demo credential
PARTNER_ADMIN_PASSWORD = "nimbus-demo-partner"  # noqa: S105 - a published demo credential

EXAM_CENTER = "Nimbus Exam Center (online proctored)"
LAB_GRADER = "Nimbus Labs auto-grader"
LEARNING = "Nimbus Learning"
REFERENCES_DESK = "Nimbus partner program team"


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What the demo database holds after seeding (or found there already)."""

    created: bool
    seconds: float
    partners_by_status: dict[str, int]
    people: int
    certifications: int
    criteria_versions: int
    assessments: int
    awards_by_status: dict[str, int]
    awards_expiring_within_30_days: int
    users: int
    events: int
    partner_admin_email: str | None
    firms_by_tier: dict[str, int]
    firms_at_risk: int
    firm_badges: int

    @property
    def partners(self) -> int:
        """All partner firms."""
        return sum(self.partners_by_status.values())

    @property
    def awards(self) -> int:
        """All awards, whatever their status."""
        return sum(self.awards_by_status.values())


# The program's certifications, with the criteria partners see.


@dataclass(frozen=True, slots=True)
class _Cert:
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
    _Cert(
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
    _Cert(
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
    _Cert(
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
    _Cert(
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
    _Cert(
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

# Where firms are, and the Faker locale their staff's names come from.
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


# The plan: a history of what happened, each step at its time.


@dataclass
class _World:
    """Ids of what has been created so far, by plan key."""

    manager: Principal
    worker: Principal
    certs: dict[str, str] = field(default_factory=dict)
    firms: dict[int, str] = field(default_factory=dict)
    people: dict[int, str] = field(default_factory=dict)
    awards: dict[int, str] = field(default_factory=dict)


Step = Callable[[Session, _World], None]


@dataclass(order=True)
class _Action:
    at: datetime
    order: int
    step: Step = field(compare=False)


@dataclass
class _Firm:
    index: int
    size: str
    name: str
    slug: str
    type: PartnerType
    regions: list[Region]
    country: str
    locale: str
    final: PartnerStatus
    applied_at: datetime
    active_at: datetime | None = None
    ends_at: datetime | None = None  # suspension or termination


@dataclass
class _PersonPlan:
    index: int
    firm: int
    track: Track
    joined_at: datetime


@dataclass
class _AwardPlan:
    key: int
    person: int
    cert: _Cert
    issued_at: datetime
    valid_until: datetime
    renewable: bool
    renewed: bool = False
    touched: bool = False  # suspended or revoked


class _Planner:
    """Draws the demo's history and turns it into time-ordered actions."""

    def __init__(self, now: datetime) -> None:
        from faker import Faker

        self.now = now
        self.start = now - HISTORY
        self.random = random.Random(SEED)  # noqa: S311 - demo data, not secrets
        locales = sorted({locale for rows in COUNTRIES.values() for _, locale, _ in rows})
        self.faker = Faker(locales)
        self.faker.seed_instance(SEED)
        self.actions: list[_Action] = []
        self.firms: list[_Firm] = []
        self.people: list[_PersonPlan] = []
        self.awards: list[_AwardPlan] = []
        self.emails: set[str] = set()
        self.partner_admin_email: str | None = None
        self._order = 0
        self._award_keys = 0
        self._exam_sittings = 0

    def at(self, when: datetime, step: Step) -> None:
        """Schedule ``step`` at ``when`` (ties run in the order scheduled)."""
        self._order += 1
        self.actions.append(_Action(when, self._order, step))

    def between(self, low: datetime, high: datetime) -> datetime:
        """A random instant in [low, high], to the minute."""
        if high <= low:
            return low
        seconds = self.random.uniform(0, (high - low).total_seconds())
        return (low + timedelta(seconds=seconds)).replace(second=0, microsecond=0)

    def plan(self) -> list[_Action]:
        """The whole history, sorted by time."""
        self._program()
        self._firms()
        for firm in self.firms:
            self._firm_lifecycle(firm)
            self._staff(firm)
        self._moves()
        for person in self.people:
            self._pursuits(person)
        self._forced_expiring()
        self._renewals()
        self._incidents()
        self._tiers()
        self._sweeps()
        return sorted(self.actions)

    def _program(self) -> None:
        launch = self.start - timedelta(days=45)

        def users(db: Session, world: _World) -> None:
            system = Principal.system("demo")
            accounts.create_user(
                db,
                system,
                email=ADMIN_EMAIL,
                display_name="Morgan Reyes",
                role=Role.ADMIN,
                password=ADMIN_PASSWORD,
            )
            manager = accounts.create_user(
                db,
                system,
                email=MANAGER_EMAIL,
                display_name="Priya Natarajan",
                role=Role.PROGRAM_MANAGER,
                password=MANAGER_PASSWORD,
            )
            world.manager = accounts.principal_for(manager)

        self.at(launch, users)
        for offset, cert in enumerate(CERTIFICATIONS):
            self.at(launch + timedelta(hours=2 + offset), _create_certification(cert))
        announced = self.now - timedelta(days=400)
        self.at(announced, _publish_professional_v2(self.now - timedelta(days=365)))

    def _firms(self) -> None:
        sizes = ["small"] * 30 + ["mid"] * 20 + ["large"] * 10
        finals: dict[int, PartnerStatus] = {}
        # A few firms are not (or no longer) active, as in any real program.
        for index, status in (
            (3, PartnerStatus.APPLICANT),
            (17, PartnerStatus.APPLICANT),
            (8, PartnerStatus.ONBOARDING),
            (25, PartnerStatus.ONBOARDING),
            (41, PartnerStatus.ONBOARDING),
            (12, PartnerStatus.SUSPENDED),
            (36, PartnerStatus.SUSPENDED),
            (52, PartnerStatus.SUSPENDED),
            (21, PartnerStatus.TERMINATED),
        ):
            finals[index] = status
        names: set[str] = set()
        regions = list(REGION_WEIGHTS)
        weights = list(REGION_WEIGHTS.values())
        for index, size in enumerate(sizes):
            home = self.random.choices(regions, weights)[0]
            country, locale, suffix = self.random.choice(COUNTRIES[home])
            while True:
                prefix = self.random.choice(NAME_PREFIXES)
                core = self.random.choice(NAME_CORES[size])
                if f"{prefix} {core}" not in names:
                    break
            names.add(f"{prefix} {core}")
            extra = {"small": 0, "mid": self.random.choice((0, 0, 1)), "large": 2}[size]
            others = self.random.sample([r for r in regions if r is not home], extra)
            final = finals.get(index, PartnerStatus.ACTIVE)
            if final is PartnerStatus.APPLICANT:
                applied = self.between(self.now - 20 * DAY, self.now - 2 * DAY)
            elif final is PartnerStatus.ONBOARDING:
                applied = self.between(self.now - 70 * DAY, self.now - 30 * DAY)
            else:
                # Larger firms joined the program earlier, on the whole.
                latest = {"small": 150, "mid": 300, "large": 700}[size]
                if final is PartnerStatus.TERMINATED:
                    latest = 500
                applied = self.between(self.start, self.now - latest * DAY)
            self.firms.append(
                _Firm(
                    index=index,
                    size=size,
                    name=f"{prefix} {core} {suffix}",
                    slug=_slug(f"{prefix} {core}", "-"),
                    type=self.random.choice(TYPES[size]),
                    regions=[home, *others],
                    country=country,
                    locale=locale,
                    final=final,
                    applied_at=applied,
                )
            )
        # Every type of firm is represented, whatever the draw.
        for firm, kind in zip(self.firms[-6:], PartnerType, strict=True):
            firm.type = kind

    def _firm_lifecycle(self, firm: _Firm) -> None:
        index = firm.index
        self.at(firm.applied_at, _create_partner(firm))
        if firm.final is PartnerStatus.APPLICANT:
            return
        accepted = firm.applied_at + self.random.randint(3, 10) * DAY
        self.at(accepted, _partner_status(index, PartnerStatus.ONBOARDING, "Application accepted"))
        checks = list(OnboardingCheck)
        if firm.final is PartnerStatus.ONBOARDING:
            checks = checks[: self.random.randint(1, 3)]
        done = accepted
        for check in checks:
            done = done + self.random.randint(2, 12) * DAY
            self.at(min(done, self.now - DAY), _onboarding(index, check))
        if firm.final is PartnerStatus.ONBOARDING:
            return
        firm.active_at = done + self.random.randint(1, 5) * DAY
        self.at(
            firm.active_at,
            _partner_status(index, PartnerStatus.ACTIVE, "Onboarding complete; welcome aboard"),
        )
        if firm.final is PartnerStatus.SUSPENDED:
            firm.ends_at = self.between(
                max(firm.active_at + 30 * DAY, self.now - 120 * DAY), self.now - 10 * DAY
            )
            reason = SUSPENSION_REASONS[len([f for f in self.firms if f.ends_at]) % 3]
            self.at(firm.ends_at, _partner_status(index, PartnerStatus.SUSPENDED, reason))
        elif firm.final is PartnerStatus.TERMINATED:
            firm.ends_at = self.now - 75 * DAY
            self.at(
                firm.ends_at,
                _partner_status(
                    index,
                    PartnerStatus.TERMINATED,
                    "Partner agreement terminated at the partner's request (business closed)",
                ),
            )
        if (
            firm.size == "large"
            and firm.final is PartnerStatus.ACTIVE
            and self.partner_admin_email is None
        ):
            self.partner_admin_email = f"admin@{firm.slug}.example"
            self.at(
                firm.active_at + 2 * DAY,
                _partner_admin(index, self.partner_admin_email),
            )

    def _staff(self, firm: _Firm) -> None:
        if firm.final is PartnerStatus.APPLICANT:
            return
        if firm.final is PartnerStatus.ONBOARDING:
            # Staff are registered once the application is accepted.
            first = firm.applied_at + 11 * DAY
            count, last = self.random.randint(2, 4), self.now - DAY
        else:
            low, high = HEADCOUNT[firm.size]
            assert firm.active_at is not None
            count = self.random.randint(low, high)
            first, last = firm.active_at, (firm.ends_at or self.now) - 5 * DAY
        tracks = [Track.SALES, Track.TECHNICAL, Track.SUPPORT]
        for n in range(count):
            # Most staff are enrolled soon after the firm joins; the rest trickle in.
            share = self.random.random() ** 1.8
            joined = first + DAY + (last - first - DAY) * share if n else first + DAY
            joined = joined.replace(second=0, microsecond=0)
            track = self.random.choices(tracks, (35, 45, 20))[0]
            person = _PersonPlan(len(self.people), firm.index, track, joined)
            self.people.append(person)
            given, family, email = self._name(firm)
            self.at(joined, _create_person(person.index, firm.index, track, given, family, email))

    def _name(self, firm: _Firm) -> tuple[str, str, str]:
        local = self.faker[firm.locale]
        given, family = local.first_name(), local.last_name()
        base = f"{_slug(given)}.{_slug(family)}"
        email, n = f"{base}@{firm.slug}.example", 1
        while email in self.emails:
            n += 1
            email = f"{base}{n}@{firm.slug}.example"
        self.emails.add(email)
        return given, family, email

    def _moves(self) -> None:
        # People change jobs: some move to another active firm, a few leave the program.
        active = [f for f in self.firms if f.final is PartnerStatus.ACTIVE]
        movers = [
            p
            for p in self.people
            if self.firms[p.firm].final is PartnerStatus.ACTIVE
            and p.joined_at < self.now - 300 * DAY
        ]
        for person in self.random.sample(movers, min(18, len(movers))):
            when = self.between(person.joined_at + 120 * DAY, self.now - 30 * DAY)
            targets = [
                f for f in active if f.index != person.firm and f.active_at and f.active_at < when
            ]
            if targets and self.random.random() < 0.75:
                target = self.random.choice(targets)
                self.at(when, _join(person.index, target.index))
                person.firm = target.index
            else:
                self.at(when, _leave(person.index))

    def _limit(self, person: _PersonPlan) -> datetime:
        firm = self.firms[person.firm]
        return (firm.ends_at or self.now) - 2 * DAY

    def _pursuits(self, person: _PersonPlan) -> None:
        firm = self.firms[person.firm]
        if firm.final is PartnerStatus.ONBOARDING:
            # Not yet in the program: some have started their training.
            cert = {Track.SALES: "NCSP", Track.TECHNICAL: "NCSA-A", Track.SUPPORT: "NCSE"}
            training = CERTS[cert[Track(person.track)]].training
            if training and self.random.random() < 0.5:
                when = self.between(person.joined_at + DAY, self.now - DAY)
                self.at(when, _assessment(person.index, AssessmentKind.TRAINING, training, None))
            return
        if person.track is Track.SALES and self.random.random() < 0.75:
            self._pursue(person, CERTS["NCSP"])
        elif person.track is Track.SUPPORT and self.random.random() < 0.75:
            self._pursue(person, CERTS["NCSE"])
        elif person.track is Track.TECHNICAL and self.random.random() < 0.8:
            associate = self._pursue(person, CERTS["NCSA-A"])
            if associate is not None:
                for code, chance in (("NCSA-P", 0.35), ("NSEC", 0.2)):
                    if self.random.random() < chance:
                        self._pursue(person, CERTS[code], after=associate)

    def _pursue(
        self,
        person: _PersonPlan,
        cert: _Cert,
        *,
        after: _AwardPlan | None = None,
        issue_at: datetime | None = None,
    ) -> _AwardPlan | None:
        earliest = person.joined_at + 30 * DAY
        limit = self._limit(person)
        if after is not None:
            # The prerequisite must still be held when this award is issued.
            earliest = after.issued_at + 90 * DAY
            limit = min(limit, after.valid_until - 30 * DAY)
        if issue_at is None:
            if earliest >= limit:
                return None
            # Most people certify within months of starting; a few take much longer.
            mean_days = 200 if after is not None else 110
            delay = timedelta(days=self.random.expovariate(1 / mean_days))
            issue_at = (earliest + delay).replace(second=0, microsecond=0)
            if issue_at >= limit or self.random.random() < 0.05:
                if limit < self.now - 3 * DAY:
                    return None  # the firm left the program before they finished
                # Still working toward it: the evidence so far, no award yet.
                issue_at = self.now + self.random.randint(5, 45) * DAY
        professional_v2 = cert.code == "NCSA-P" and issue_at >= self.now - 365 * DAY
        steps = self._evidence(person, cert, issue_at, v2=professional_v2)
        for when, step in steps:
            if when < self.now - timedelta(hours=1):
                self.at(when, step)
        if issue_at >= self.now:
            return None
        self._award_keys += 1
        plan = _AwardPlan(
            key=self._award_keys,
            person=person.index,
            cert=cert,
            issued_at=issue_at,
            valid_until=issue_at + cert.validity_days * DAY,
            renewable=after is None,
        )
        self.awards.append(plan)
        self.at(issue_at, _issue(plan))
        return plan

    def _evidence(
        self, person: _PersonPlan, cert: _Cert, issue_at: datetime, *, v2: bool
    ) -> list[tuple[datetime, Step]]:
        """The assessments leading to an award at ``issue_at``, oldest first."""
        room = max(issue_at - person.joined_at - DAY, 6 * DAY)

        def before(days: int) -> datetime:
            # Offsets shrink for people who certify soon after joining.
            span = min(days * DAY, room * days / 70)
            return (issue_at - span).replace(second=0, microsecond=0)

        p = person.index
        steps: list[tuple[datetime, Step]] = []
        if cert.training:
            steps.append((before(60), _assessment(p, AssessmentKind.TRAINING, cert.training, None)))
        labs = list(cert.labs) + (["NCSA-P-LAB-RESILIENCE"] if v2 else [])
        for n, lab in enumerate(labs):
            steps.append((before(30 - 5 * n), _assessment(p, AssessmentKind.LAB, lab, None)))
        for n in range(cert.references + (1 if v2 else 0)):
            customer = self.random.choice(CUSTOMERS)
            steps.append(
                (before(45 - 6 * n), _assessment(p, AssessmentKind.REFERENCE, customer, None))
            )
        pass_score = 78.0 if v2 else cert.pass_score
        if self.random.random() < 0.18:
            failed = float(self.random.randint(45, int(pass_score) - 1))
            steps.append((before(40), _exam(p, cert.exam, failed, passed=False)))
        score = float(self.random.randint(int(pass_score) + 1, 98))
        steps.append((before(3), _exam(p, cert.exam, score, passed=True)))
        return steps

    def _forced_expiring(self) -> None:
        # A handful of awards run out within the next month, not yet renewed: what a program
        # manager chases first.
        held = {(plan.person, plan.cert.code) for plan in self.awards}
        candidates = [
            p
            for p in self.people
            if p.track in (Track.SALES, Track.SUPPORT)
            and self.firms[p.firm].final is PartnerStatus.ACTIVE
            and p.joined_at < self.now - 790 * DAY
        ]
        count = 0
        for person in candidates:
            code = "NCSP" if person.track is Track.SALES else "NCSE"
            if (person.index, code) in held:
                continue
            cert = CERTS[code]
            issue_at = self.between(
                self.now - (cert.validity_days - 3) * DAY,
                self.now - (cert.validity_days - 28) * DAY,
            )
            plan = self._pursue(person, cert, issue_at=issue_at)
            if plan is not None:
                plan.renewable = False
                count += 1
            if count == 8:
                return

    def _renewals(self) -> None:
        for plan in self.awards:
            if not plan.renewable:
                continue
            opens = plan.valid_until - plan.cert.renewal_window_days * DAY
            if opens >= self.now - 2 * DAY:
                continue
            chance = 0.5 if plan.valid_until < self.now else 0.3
            if self.random.random() >= chance:
                continue
            when = self.between(
                opens + DAY, min(plan.valid_until - DAY, self.now - DAY, self._limit_of(plan))
            )
            if when <= opens:
                continue
            plan.renewed = True
            self.at(when - 2 * DAY, _exam(plan.person, f"{plan.cert.exam}-RECERT", 85, True))
            self.at(when, _renew(plan))

    def _limit_of(self, plan: _AwardPlan) -> datetime:
        return self._limit(self.people[plan.person])

    def _incidents(self) -> None:
        # Revocations and suspensions hit awards that nothing else depends on.
        simple = [
            plan
            for plan in self.awards
            if plan.cert.code in ("NCSP", "NCSE")
            and not plan.renewed
            and plan.renewable
            and plan.issued_at < self.now - 120 * DAY
        ]
        self.random.shuffle(simple)
        revocable = [p for p in simple if p.valid_until > p.issued_at + 60 * DAY][:6]
        for plan, reason in zip(revocable, AWARD_REVOCATIONS, strict=False):
            plan.touched = True
            end = min(plan.valid_until, self.now) - 2 * DAY
            self.at(self.between(plan.issued_at + 20 * DAY, end), _revoke(plan, reason))
        current = [p for p in simple if not p.touched and p.valid_until > self.now + 60 * DAY]
        for n, plan in enumerate(current[:6]):
            plan.touched = True
            if n < 4:
                when = self.between(self.now - 50 * DAY, self.now - 3 * DAY)
                self.at(when, _suspend(plan, AWARD_SUSPENSIONS[n]))
            else:
                when = self.between(self.now - 120 * DAY, self.now - 70 * DAY)
                self.at(when, _suspend(plan, AWARD_SUSPENSIONS[n % 4]))
                self.at(
                    when + self.random.randint(10, 30) * DAY,
                    _reinstate(plan, "Investigation closed: no wrongdoing found"),
                )

    def _tiers(self) -> None:
        # Drawn from a generator of its own, so the rest of the history stays as it was.
        draw = random.Random(SEED + 1)  # noqa: S311 - demo data, not secrets
        level = {"small": 4.15, "mid": 4.3, "large": 4.45}
        usual = {firm.index: level[firm.size] + draw.uniform(-0.35, 0.3) for firm in self.firms}
        for number, ago in enumerate(SURVEYS, start=1):
            when = self.now - ago
            figures = {
                firm.index: round(
                    min(5.0, max(3.0, usual[firm.index] + draw.uniform(-0.15, 0.15))), 1
                )
                for firm in self.firms
                if firm.active_at is not None
                and firm.active_at < when
                and (firm.ends_at is None or firm.ends_at > when)
            }
            dips = AT_RISK_AFTER_SURVEY if number == len(SURVEYS) else 0
            self.at(when, _survey(number, figures, dips))
        self.at(self.now - TIERS_PUBLISHED, _publish_tiers)

    def _sweeps(self) -> None:
        # The worker stores expiries as they happen; here, once a week and once more today.
        when = self.start + 7 * DAY
        while when < self.now:
            self.at(when, _sweep)
            when += 7 * DAY
        self.at(self.now, _sweep)


def _slug(text: str, separator: str = "") -> str:
    """``text`` in lower-case ASCII letters and digits, for email addresses and host names."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = ["".join(ch for ch in word if ch.isalnum()) for word in ascii_text.split()]
    return separator.join(word for word in words if word) or "x"


# The steps, each one service call made by the program manager (or the worker).


def _create_certification(cert: _Cert) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.programs import service as programs
        from charter.programs.schemas import CertificationCreate, CriteriaCreate

        created = programs.create_certification(
            db,
            world.manager,
            data=CertificationCreate.model_validate(
                {
                    "code": cert.code,
                    "name": cert.name,
                    "track": cert.track,
                    "level": cert.level,
                    "description": cert.description,
                    "validity_days": cert.validity_days,
                    "renewal_window_days": cert.renewal_window_days,
                    "criteria": CriteriaCreate.model_validate(
                        {"narrative": cert.narrative, "requirements": cert.requirements}
                    ),
                }
            ),
        )
        world.certs[cert.code] = created.id

    return step


def _publish_professional_v2(effective_from: datetime) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.programs import service as programs
        from charter.programs.schemas import CriteriaCreate

        programs.publish_criteria(
            db,
            world.manager,
            certification_id=world.certs["NCSA-P"],
            data=CriteriaCreate.model_validate(
                {
                    "narrative": PRO_V2_NARRATIVE,
                    "requirements": PRO_V2_REQUIREMENTS,
                    "effective_from": effective_from,
                }
            ),
        )

    return step


def _create_partner(firm: _Firm) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.partners import firms as partners
        from charter.partners.schemas import PartnerCreate

        partner = partners.create_partner(
            db,
            world.manager,
            data=PartnerCreate(
                name=firm.name,
                type=firm.type,
                regions=firm.regions,
                country=firm.country,
                website=f"https://www.{firm.slug}.example",
                external_id=_crm_id(firm.index),
            ),
        )
        world.firms[firm.index] = partner.id

    return step


def _partner_status(index: int, status: PartnerStatus, reason: str) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.tiers import flows

        flows.change_partner_status(
            db, world.manager, partner_id=world.firms[index], status=status, reason=reason
        )

    return step


ONBOARDING_NOTES = {
    OnboardingCheck.IDENTITY_VERIFIED: "Company registry extract and signatory ID checked",
    OnboardingCheck.ELIGIBILITY: "Meets the program's eligibility requirements",
    OnboardingCheck.AGREEMENT_SIGNED: "Nimbus Partner Agreement countersigned",
    OnboardingCheck.SECURITY_POSTURE: "Security questionnaire reviewed; MFA enforced",
}


def _onboarding(index: int, check: OnboardingCheck) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.partners import onboarding as partners

        partners.set_onboarding_check(
            db,
            world.manager,
            partner_id=world.firms[index],
            check=check,
            done=True,
            note=ONBOARDING_NOTES[check],
        )

    return step


def _partner_admin(index: int, email: str) -> Step:
    def step(db: Session, world: _World) -> None:
        accounts.create_user(
            db,
            Principal.system("demo"),
            email=email,
            display_name="Jordan Ellis",
            role=Role.PARTNER_ADMIN,
            password=PARTNER_ADMIN_PASSWORD,
            partner_id=world.firms[index],
        )

    return step


def _create_person(
    person: int, firm: int, track: Track, given: str, family: str, email: str
) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.partners import people as partners
        from charter.partners.schemas import PersonCreate

        created = partners.create_person(
            db,
            world.manager,
            data=PersonCreate(
                given_name=given,
                family_name=family,
                track=track,
                partner_id=world.firms[firm],
                emails=[email],
            ),
        )
        world.people[person] = created.id

    return step


def _join(person: int, firm: int) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.partners import employment as partners

        partners.person_joins_partner(
            db, world.manager, person_id=world.people[person], partner_id=world.firms[firm]
        )

    return step


def _leave(person: int) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.partners import employment as partners

        partners.person_leaves_partner(db, world.manager, person_id=world.people[person])

    return step


ASSESSORS = {
    AssessmentKind.EXAM: EXAM_CENTER,
    AssessmentKind.LAB: LAB_GRADER,
    AssessmentKind.TRAINING: LEARNING,
    AssessmentKind.REFERENCE: REFERENCES_DESK,
}


def _assessment(
    person: int, kind: AssessmentKind, code: str, score: float | None, passed: bool = True
) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.programs import service as programs
        from charter.programs.schemas import AssessmentCreate

        programs.record_assessment(
            db,
            world.manager,
            data=AssessmentCreate(
                person_id=world.people[person],
                kind=kind,
                code=code,
                score=score,
                passed=passed,
                assessor=ASSESSORS[kind],
                occurred_at=clock.now(),
            ),
        )

    return step


def _exam(person: int, code: str, score: float, passed: bool) -> Step:
    return _assessment(person, AssessmentKind.EXAM, code, score, passed)


def _issue(plan: _AwardPlan) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.credentials import service as credentials
        from charter.credentials.schemas import AwardCreate

        award = credentials.issue_award(
            db,
            world.manager,
            data=AwardCreate(
                person_id=world.people[plan.person], certification_id=world.certs[plan.cert.code]
            ),
        )
        world.awards[plan.key] = award.id

    return step


def _renew(plan: _AwardPlan) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.credentials import service as credentials

        credentials.renew_award(db, world.manager, award_id=world.awards[plan.key])

    return step


def _revoke(plan: _AwardPlan, reason: str) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.credentials import service as credentials

        credentials.revoke_award(db, world.manager, award_id=world.awards[plan.key], reason=reason)

    return step


def _suspend(plan: _AwardPlan, reason: str) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.credentials import service as credentials

        credentials.suspend_award(db, world.manager, award_id=world.awards[plan.key], reason=reason)

    return step


def _reinstate(plan: _AwardPlan, reason: str) -> Step:
    def step(db: Session, world: _World) -> None:
        from charter.credentials import service as credentials

        credentials.reinstate_award(
            db, world.manager, award_id=world.awards[plan.key], reason=reason
        )

    return step


def _crm_id(index: int) -> str:
    return f"CRM-{10_000 + index * 37}"


def _survey(number: int, figures: dict[int, float], dips: int) -> Step:
    """Import a survey's satisfaction figures as the CSV the survey tool exports."""

    def step(db: Session, world: _World) -> None:
        from charter.tiers import track_records

        values = dict(figures)
        if dips:
            # A few firms holding a tier that needs satisfaction hear worse from customers.
            held = db.execute(
                select(FirmTier.partner_id, FirmTier.tier)
                .join(Partner, Partner.id == FirmTier.partner_id)
                .where(FirmTier.tier.in_(["certified", "elite"]), FirmTier.at_risk_since.is_(None))
                .order_by(Partner.name)
            ).all()
            index_of = {partner_id: index for index, partner_id in world.firms.items()}
            minimum = {
                tier["key"]: tier["requirements"].get("min_track_record", {}).get(CSAT, 0.0)
                for tier in TIERS
            }
            chosen = [(index_of[p], tier) for p, tier in held if index_of.get(p) in values]
            for index, tier in chosen[:dips]:
                values[index] = round(minimum[tier] - 0.3, 1)
        lines = ["external_id,partner_external_id,metric,value,source"]
        lines += [
            f"CSAT-{number}-{index},{_crm_id(index)},{CSAT},{value},{SURVEY_SOURCE}"
            for index, value in sorted(values.items())
        ]
        track_records.import_track_records(
            db,
            world.manager,
            source=("\n".join(lines) + "\n").encode("utf-8"),
            name=f"nimbus-csat-survey-{number}.csv",
        )

    return step


def _publish_tiers(db: Session, world: _World) -> None:
    from charter.tiers import schemes
    from charter.tiers import service as tiers
    from charter.tiers.schemas import SchemeCreate

    schemes.publish_scheme(db, world.manager, data=SchemeCreate.model_validate({"tiers": TIERS}))
    # The worker re-evaluates every firm when a scheme is published.
    tiers.sweep(db, world.worker)


def _sweep(db: Session, world: _World) -> None:
    from charter.credentials import service as credentials
    from charter.tiers import service as tiers

    credentials.expire_due_awards(db, world.worker)
    tiers.sweep(db, world.worker)  # nothing to do before the tiers are published


# Seeding and serving.


def _summary(db: Session, *, created: bool, seconds: float) -> SeedSummary:
    now = clock.now()

    def by_status(column: Any, statuses: list[str]) -> dict[str, int]:
        counts = dict.fromkeys(statuses, 0)
        for status, count in db.execute(select(column, func.count()).group_by(column)):
            counts[status] = counts.get(status, 0) + count
        return counts

    def count(model: Any) -> int:
        return db.scalar(select(func.count()).select_from(model)) or 0

    expiring = db.scalar(
        select(func.count())
        .select_from(Award)
        .where(
            Award.status == AwardStatus.ACTIVE.value,
            Award.valid_until > now,
            Award.valid_until <= now + timedelta(days=30),
        )
    )
    firms_by_tier = {
        str(tier): int(count)
        for tier, count in db.execute(
            select(FirmTier.tier, func.count())
            .where(FirmTier.tier.is_not(None))
            .group_by(FirmTier.tier)
            .order_by(FirmTier.tier)
        )
    }
    at_risk = db.scalar(
        select(func.count()).select_from(FirmTier).where(FirmTier.at_risk_since.is_not(None))
    )
    badges = db.scalar(
        select(func.count())
        .select_from(TierBadge)
        .where(TierBadge.status == BadgeStatus.ACTIVE.value)
    )
    partner_admin = db.scalar(
        select(User.email).where(User.role == Role.PARTNER_ADMIN.value).order_by(User.created_at)
    )
    return SeedSummary(
        created=created,
        seconds=seconds,
        partners_by_status=by_status(Partner.status, [s.value for s in PartnerStatus]),
        people=count(Person),
        certifications=count(Certification),
        criteria_versions=count(CriteriaVersion),
        assessments=count(Assessment),
        awards_by_status=by_status(Award.status, [s.value for s in AwardStatus]),
        awards_expiring_within_30_days=expiring or 0,
        users=count(User),
        events=count(Event),
        partner_admin_email=partner_admin,
        firms_by_tier=firms_by_tier,
        firms_at_risk=at_risk or 0,
        firm_badges=badges or 0,
    )


def seed(db_url: str) -> SeedSummary:
    """Migrate ``db_url`` and fill it with the Nimbus Cloud program, unless it has partners."""
    from charter.db.engine import make_engine, make_sessionmaker
    from charter.db.migrate import upgrade

    started = time.perf_counter()
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions() as db, db.begin():
            if db.scalar(select(func.count()).select_from(Partner)):
                return _summary(db, created=False, seconds=time.perf_counter() - started)
        now = clock.now().replace(second=0, microsecond=0)
        actions = _Planner(now).plan()
        placeholder = Principal.system("demo")
        world = _World(manager=placeholder, worker=Principal.system("worker"))
        frozen = clock.FrozenClock(actions[0].at)
        # One transaction: a seed that fails half-way leaves an empty database, so the next
        # run starts over instead of finding partners and keeping half a program.
        with sessions() as db, db.begin(), clock.use(frozen):
            for action in actions:
                frozen.set(action.at)
                action.step(db, world)
            return _summary(db, created=True, seconds=time.perf_counter() - started)
    finally:
        engine.dispose()


def run_demo(host: str = "127.0.0.1", port: int = 8000, serve: bool = True) -> None:
    """Seed the demo database (first run only), print how to sign in, and serve the app."""
    from charter.config import get_settings

    settings = get_settings()
    summary = seed(settings.database_url)
    base = f"http://{host}:{port}"
    verb = "Seeded" if summary.created else "Reusing"
    print(f"{verb} the Nimbus Cloud demo program in {settings.database_url}")
    print(
        f"  {summary.partners} partner firms, {summary.people} people, "
        f"{summary.certifications} certifications, {summary.assessments} assessments, "
        f"{summary.awards} awards ({summary.awards_expiring_within_30_days} expiring within "
        f"30 days), {summary.events} events"
        + (f" in {summary.seconds:.1f} s" if summary.created else "")
    )
    tiers = ", ".join(f"{count} {tier}" for tier, count in summary.firms_by_tier.items())
    print(
        f"  Partner tiers: {tiers or 'none'} ({summary.firms_at_risk} at risk), "
        f"{summary.firm_badges} firm badges"
    )
    print()
    print("Sign in (demo credentials, for this local demo only):")
    print(f"  admin            {ADMIN_EMAIL:<40} {ADMIN_PASSWORD}")
    print(f"  program manager  {MANAGER_EMAIL:<40} {MANAGER_PASSWORD}")
    if summary.partner_admin_email:
        print(f"  partner admin    {summary.partner_admin_email:<40} {PARTNER_ADMIN_PASSWORD}")
    print()
    print(f"  Dashboard  {base}/dashboard")
    print(f"  API docs   {base}/api/docs")
    print(f"  Health     {base}/api/v1/health")
    if not serve:
        return
    import uvicorn

    from charter.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)
