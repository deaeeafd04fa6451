"""The steps of the history, each one service call made by the program manager (or the
worker), with the clock standing at the step's time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.core import clock
from charter.core.auth import Principal, Role
from charter.credentials import service as credentials
from charter.credentials.schemas import AwardCreate
from charter.demo.catalogue import (
    CSAT,
    PRO_V2_NARRATIVE,
    PRO_V2_REQUIREMENTS,
    SURVEY_SOURCE,
    TIERS,
    Cert,
)
from charter.demo.people import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AUDITOR_EMAIL,
    AUDITOR_PASSWORD,
    MANAGER_EMAIL,
    MANAGER_PASSWORD,
    PARTNER_ADMIN_PASSWORD,
    PARTNER_MEMBER_PASSWORD,
)
from charter.demo.plan import AwardPlan, FirmPlan, Step, World
from charter.demo.vocabulary import Track
from charter.partners import employment, firms, listing, people
from charter.partners import onboarding as firm_onboarding
from charter.partners.enums import OnboardingCheck, PartnerStatus
from charter.partners.models import Partner
from charter.partners.schemas import ListingUpdate, PartnerCreate, PersonCreate
from charter.programs import service as programs
from charter.programs.enums import AssessmentKind
from charter.programs.schemas import AssessmentCreate, CertificationCreate, CriteriaCreate
from charter.tiers import flows, schemes, track_records
from charter.tiers import service as tiers
from charter.tiers.models import FirmTier
from charter.tiers.schemas import SchemeCreate


def program_staff(db: Session, world: World) -> None:
    """Create the program's admin, its auditor and its manager, who takes every later step."""
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
    accounts.create_user(
        db,
        system,
        email=AUDITOR_EMAIL,
        display_name="Tomasz Wójcik",
        role=Role.AUDITOR,
        password=AUDITOR_PASSWORD,
    )


def create_certification(cert: Cert) -> Step:
    """Create a certification of the catalogue, with its first criteria."""

    def step(db: Session, world: World) -> None:
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


def publish_professional_v2(effective_from: datetime) -> Step:
    """Publish the revised Professional criteria, in force from ``effective_from``."""

    def step(db: Session, world: World) -> None:
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


def create_partner(firm: FirmPlan) -> Step:
    """Register the firm as an applicant."""

    def step(db: Session, world: World) -> None:
        partner = firms.create_partner(
            db,
            world.manager,
            data=PartnerCreate(
                name=firm.name,
                type=firm.type,
                regions=firm.regions,
                country=firm.country,
                website=f"https://www.{firm.slug}.example",
                external_id=crm_id(firm.index),
            ),
        )
        world.firms[firm.index] = partner.id

    return step


TYPE_WORDS = {
    "reseller": "Reseller",
    "var": "Value-added reseller",
    "implementation": "Implementation partner",
    "msp": "Managed service provider",
    "integration": "Integration partner",
    "distributor": "Distributor",
}


def list_in_directory(firm: FirmPlan) -> Step:
    """The firm chooses to appear in the public partner directory, with a short blurb."""

    def step(db: Session, world: World) -> None:
        regions = ", ".join(region.value.upper() for region in firm.regions)
        blurb = f"{TYPE_WORDS[firm.type.value]} for Nimbus customers in {regions}."
        listing.update_listing(
            db,
            world.manager,
            partner_id=world.firms[firm.index],
            data=ListingUpdate(listed=True, blurb=blurb),
        )

    return step


def partner_status(index: int, status: PartnerStatus, reason: str) -> Step:
    """Move the firm to ``status``, saying why."""

    def step(db: Session, world: World) -> None:
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


def onboarding(index: int, check: OnboardingCheck) -> Step:
    """Tick one of the firm's onboarding checks."""

    def step(db: Session, world: World) -> None:
        firm_onboarding.set_onboarding_check(
            db,
            world.manager,
            partner_id=world.firms[index],
            check=check,
            done=True,
            note=ONBOARDING_NOTES[check],
        )

    return step


def partner_admin(index: int, email: str) -> Step:
    """Give the firm a partner admin and a partner member who sign in with the demo passwords
    (the member's address is the admin's with ``member`` for ``admin``)."""

    def step(db: Session, world: World) -> None:
        accounts.create_user(
            db,
            Principal.system("demo"),
            email=email,
            display_name="Jordan Ellis",
            role=Role.PARTNER_ADMIN,
            password=PARTNER_ADMIN_PASSWORD,
            partner_id=world.firms[index],
        )
        accounts.create_user(
            db,
            Principal.system("demo"),
            email=member_email(email),
            display_name="Sam Okafor",
            role=Role.PARTNER_MEMBER,
            password=PARTNER_MEMBER_PASSWORD,
            partner_id=world.firms[index],
        )

    return step


def member_email(partner_admin_email: str) -> str:
    """The demo partner member's address, beside the partner admin's."""
    return partner_admin_email.replace("admin@", "member@", 1)


def create_person(
    person: int, firm: int, track: Track, given: str, family: str, email: str
) -> Step:
    """Register a member of a firm's staff."""

    def step(db: Session, world: World) -> None:
        created = people.create_person(
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


def join(person: int, firm: int) -> Step:
    """The person moves to another firm."""

    def step(db: Session, world: World) -> None:
        employment.person_joins_partner(
            db, world.manager, person_id=world.people[person], partner_id=world.firms[firm]
        )

    return step


def leave(person: int) -> Step:
    """The person leaves their firm (and the program)."""

    def step(db: Session, world: World) -> None:
        employment.person_leaves_partner(db, world.manager, person_id=world.people[person])

    return step


EXAM_CENTER = "Nimbus Exam Center (online proctored)"
LAB_GRADER = "Nimbus Labs auto-grader"
LEARNING = "Nimbus Learning"
REFERENCES_DESK = "Nimbus partner program team"

ASSESSORS = {
    AssessmentKind.EXAM: EXAM_CENTER,
    AssessmentKind.LAB: LAB_GRADER,
    AssessmentKind.TRAINING: LEARNING,
    AssessmentKind.REFERENCE: REFERENCES_DESK,
}


def assessment(
    person: int, kind: AssessmentKind, code: str, score: float | None, passed: bool = True
) -> Step:
    """Record an assessment of the person (training, lab, reference or exam)."""

    def step(db: Session, world: World) -> None:
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


def exam(person: int, code: str, score: float, passed: bool) -> Step:
    """Record an exam sitting and its score."""
    return assessment(person, AssessmentKind.EXAM, code, score, passed)


def issue(plan: AwardPlan) -> Step:
    """Issue the planned award."""

    def step(db: Session, world: World) -> None:
        award = credentials.issue_award(
            db,
            world.manager,
            data=AwardCreate(
                person_id=world.people[plan.person], certification_id=world.certs[plan.cert.code]
            ),
        )
        world.awards[plan.key] = award.id

    return step


def renew(plan: AwardPlan) -> Step:
    """Renew the planned award."""

    def step(db: Session, world: World) -> None:
        credentials.renew_award(db, world.manager, award_id=world.awards[plan.key])

    return step


def revoke(plan: AwardPlan, reason: str) -> Step:
    """Revoke the planned award, saying why."""

    def step(db: Session, world: World) -> None:
        credentials.revoke_award(db, world.manager, award_id=world.awards[plan.key], reason=reason)

    return step


def suspend(plan: AwardPlan, reason: str) -> Step:
    """Suspend the planned award, saying why."""

    def step(db: Session, world: World) -> None:
        credentials.suspend_award(db, world.manager, award_id=world.awards[plan.key], reason=reason)

    return step


def reinstate(plan: AwardPlan, reason: str) -> Step:
    """Reinstate the suspended award, saying why."""

    def step(db: Session, world: World) -> None:
        credentials.reinstate_award(
            db, world.manager, award_id=world.awards[plan.key], reason=reason
        )

    return step


def crm_id(index: int) -> str:
    """The firm's id in the vendor's CRM, which the survey exports name it by."""
    return f"CRM-{10_000 + index * 37}"


def survey(number: int, figures: dict[int, float], dips: int) -> Step:
    """Import a survey's satisfaction figures as the CSV the survey tool exports."""

    def step(db: Session, world: World) -> None:
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
            f"CSAT-{number}-{index},{crm_id(index)},{CSAT},{value},{SURVEY_SOURCE}"
            for index, value in sorted(values.items())
        ]
        track_records.import_track_records(
            db,
            world.manager,
            source=("\n".join(lines) + "\n").encode("utf-8"),
            name=f"nimbus-csat-survey-{number}.csv",
        )

    return step


def publish_tiers(db: Session, world: World) -> None:
    """Publish the partner tiers, and evaluate every firm against them."""
    schemes.publish_scheme(db, world.manager, data=SchemeCreate.model_validate({"tiers": TIERS}))
    # The worker re-evaluates every firm when a scheme is published.
    tiers.sweep(db, world.worker)


def sweep(db: Session, world: World) -> None:
    """What the worker does weekly: store the expiries due, then re-evaluate every firm."""
    credentials.expire_due_awards(db, world.worker)
    tiers.sweep(db, world.worker)  # nothing to do before the tiers are published
