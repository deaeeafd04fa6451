"""The licensing steps of the history: products and agreements, licenses and their
deployments, usage, and what the worker does with them; each one or a few service calls made
by the program manager, the licensed software (with its key) or the worker, with the clock
standing at the step's time.

A step whose premise no longer holds when it is replayed (a firm that could not sign, a
license suspended before a deployment was due) does nothing: the plan is drawn before the
history happens, and the services, not the plan, decide what the history allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.core import clock
from charter.core.auth import Principal, Role
from charter.core.errors import Conflict, RequirementsNotMet
from charter.credentials import service as credentials
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.db.engine import settings_of
from charter.demo.catalogue import (
    EDGE_V2_SUMMARY,
    EDGE_V2_TERMS,
    NSEC_ANNULMENT,
    PRODUCTS,
    TEMPLATE_BY_CODE,
    TEMPLATES,
    USAGE_METRIC,
)
from charter.demo.people import GOVERNANCE_EMAIL, GOVERNANCE_PASSWORD
from charter.demo.plan import ActivationPlan, LicensePlan, Step, World
from charter.demo.vocabulary import Region
from charter.licensing import (
    activations,
    agreements,
    alerts,
    checks,
    compliance,
    keystore,
    portability,
    products,
    service,
    usage,
    validation,
)
from charter.licensing.enums import ActivationState, AgreementStatus, LicenseStatus
from charter.licensing.models import Agreement, License, LicenseActivation, Product
from charter.licensing.schemas import (
    AgreementSign,
    LicenseCreate,
    ProductCreate,
    TemplateCreate,
    VersionCreate,
)
from charter.licensing.usage_schemas import UsageRecordIn
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner, Person

LICENSED_SOFTWARE_ADDRESS = "198.51.100.{}"
"""Documentation addresses (RFC 5737) the demo's licensed software validates from."""


def launch_licensing(db: Session, world: World) -> None:
    """Create the products and their agreement templates, and the governance owner who
    decides exceptions such as deployments outside a license's territory."""
    accounts.create_user(
        db,
        Principal.system("demo"),
        email=GOVERNANCE_EMAIL,
        display_name="Samuel Okafor",
        role=Role.GOVERNANCE_OWNER,
        password=GOVERNANCE_PASSWORD,
    )
    for fields in PRODUCTS:
        made = products.create_product(db, world.manager, data=ProductCreate.model_validate(fields))
        world.products[made.code] = made.id
    for template in TEMPLATES:
        created = agreements.create_template(
            db,
            world.manager,
            data=TemplateCreate.model_validate(
                {
                    "code": template["code"],
                    "name": template["name"],
                    "product_id": world.products[template["product"]],
                    "version": {
                        "summary": "First version.",
                        "terms": template["terms"],
                        "requirements": template["requirements"],
                    },
                }
            ),
        )
        world.templates[template["code"]] = created.id


def publish_edge_v2(effective_from: datetime) -> Step:
    """Publish version 2 of the Edge agreement; the firms that signed version 1 are named in
    its event (and mailed by the worker)."""

    def step(db: Session, world: World) -> None:
        agreements.publish_version(
            db,
            world.manager,
            template_id=world.templates["NEG-RESELL"],
            data=VersionCreate.model_validate(
                {
                    "effective_from": effective_from,
                    "summary": EDGE_V2_SUMMARY,
                    "terms": EDGE_V2_TERMS,
                    "requirements": TEMPLATE_BY_CODE["NEG-RESELL"]["requirements"],
                }
            ),
        )

    return step


def _partner_active(db: Session, world: World, firm: int) -> bool:
    status = db.scalar(select(Partner.status).where(Partner.id == world.firms[firm]))
    return status == PartnerStatus.ACTIVE.value


def sign(firm: int, code: str, signer: tuple[str, str]) -> Step:
    """The firm signs the template's version in force, if it meets its requirements now (the
    service refuses it otherwise, and nothing is recorded)."""

    def step(db: Session, world: World) -> None:
        if not _partner_active(db, world, firm):
            return
        name, email = signer
        try:
            signed = agreements.sign_agreement(
                db,
                world.manager,
                partner_id=world.firms[firm],
                data=AgreementSign(
                    template_id=world.templates[code],
                    signer_name=name,
                    signer_email=email,
                    signer_title="Managing Director",
                ),
            )
        except (RequirementsNotMet, Conflict):
            return  # short of the requirements, or signed that version already
        world.agreements[(firm, code)] = signed.id

    return step


def _issue(
    db: Session, world: World, agreement_id: str, seats: int, seat_model: str, **fields: object
) -> str:
    issued, key = service.issue_license(
        db,
        world.manager,
        data=LicenseCreate.model_validate(
            {"agreement_id": agreement_id, "seats": seats, "seat_model": seat_model, **fields}
        ),
    )
    world.keys[issued.id] = key
    return issued.id


def issue_license(plan: LicensePlan) -> Step:
    """Issue the planned license under the firm's agreement in force, if it has one."""

    def step(db: Session, world: World) -> None:
        agreement_id = world.agreements.get((plan.firm, plan.template))
        if agreement_id is None or not _partner_active(db, world, plan.firm):
            return
        world.licenses[plan.index] = _issue(
            db,
            world,
            agreement_id,
            plan.seats,
            plan.seat_model,
            regions=plan.regions,
            valid_until=plan.valid_until,
        )

    return step


def _usable(db: Session, world: World, license_id: str | None) -> License | None:
    """The license if it was issued and may be used now (active, firm active)."""
    if license_id is None:
        return None
    license = db.get(License, license_id)
    assert license is not None  # issued
    if service.status_of(license) is not LicenseStatus.ACTIVE or license.compliance == "lapsed":
        return None
    status = db.scalar(select(Partner.status).where(Partner.id == license.partner_id))
    return license if status == PartnerStatus.ACTIVE.value else None


def activate(plan: LicensePlan, deployment: ActivationPlan) -> Step:
    """The licensed software activates a deployment with the license's key."""

    def step(db: Session, world: World) -> None:
        license = _usable(db, world, world.licenses.get(plan.index))
        if license is None:
            return
        activations.activate(
            db,
            key=world.keys[license.id],
            fingerprint=deployment.fingerprint,
            region=deployment.region,
            customer_name=deployment.customer,
        )
        world.deployed.add((license.id, deployment.fingerprint))

    return step


def heartbeats(plans: list[LicensePlan]) -> Step:
    """The deployments still running heartbeat (those whose machines went quiet do not)."""

    def step(db: Session, world: World) -> None:
        for plan in plans:
            license = _usable(db, world, world.licenses.get(plan.index))
            if license is None:
                continue
            for deployment in plan.activations:
                if deployment.alive and (license.id, deployment.fingerprint) in world.deployed:
                    activations.heartbeat(
                        db, key=world.keys[license.id], fingerprint=deployment.fingerprint
                    )

    return step


def license_fate(plan: LicensePlan, reason: str) -> Step:
    """Suspend or revoke the planned license, saying why."""

    def step(db: Session, world: World) -> None:
        license = _usable(db, world, world.licenses.get(plan.index))
        if license is None:
            return
        change = service.suspend_license if plan.fate == "suspended" else service.revoke_license
        change(db, world.manager, license_id=license.id, reason=reason)

    return step


HEAVY = "heavy"
"""The story's role of the connectors license whose use passes its monthly cap."""


def report_usage(plans: list[LicensePlan], week: int, growth: float, heavy: int) -> Step:
    """The firms' integrations report a week of connector API calls, one batch; the first
    license reported becomes the heavy user (``heavy`` calls a week to start with)."""

    def step(db: Session, world: World) -> None:
        now = clock.now()
        records = []
        for plan in plans:
            license = _usable(db, world, world.licenses.get(plan.index))
            if license is None or license.valid_from > now - timedelta(days=1):
                continue
            base = plan.usage_base
            if world.story.setdefault(HEAVY, license.id) == license.id:
                base = heavy
            weeks = (now - license.valid_from).days // 7
            # Steady growth with a wobble drawn from the plan, so the rollups show a trend.
            wobble = 0.9 + ((plan.index * 7 + week * 13) % 21) / 100
            records.append(
                UsageRecordIn(
                    license_id=license.id,
                    metric=USAGE_METRIC,
                    quantity=max(1, int(base * (1 + growth) ** weeks * wobble)),
                    occurred_at=now - timedelta(hours=1),
                    record_id=f"week-{week}",
                )
            )
        if records:
            usage.report_usage(db, world.manager, records=records)

    return step


# --- the last days' story: licenses chosen when it happens, by role ---------------------------


def _cast(
    db: Session,
    world: World,
    role: str,
    *,
    product: str,
    status: LicenseStatus = LicenseStatus.ACTIVE,
    seat_model: str | None = None,
    one_region: bool = False,
    max_seats: int | None = None,
) -> License | None:
    """The license playing ``role``: the one chosen before, or the oldest that fits and plays
    no other role (an active firm's, no deployment held, of one region other than APAC)."""
    if role in world.story:
        return db.get(License, world.story[role])
    query = (
        select(License)
        .join(Partner, Partner.id == License.partner_id)
        .where(
            License.product_id == world.products[product],
            License.status == status.value,
            License.compliance == "ok",
            Partner.status == PartnerStatus.ACTIVE.value,
            License.id.not_in(list(world.story.values()) or [""]),
            License.id.not_in(
                select(LicenseActivation.license_id).where(
                    LicenseActivation.state == ActivationState.ACTIVE.value
                )
            ),
        )
        .order_by(License.valid_from, License.id)
    )
    if status is LicenseStatus.ACTIVE:
        query = query.where(License.valid_until > clock.now() + timedelta(days=7))
    if seat_model is not None:
        query = query.where(License.seat_model == seat_model)
    if max_seats is not None:
        query = query.where(License.seats <= max_seats)
    for license in db.scalars(query):
        if one_region and (len(license.regions) != 1 or license.regions == [Region.APAC.value]):
            continue
        world.story[role] = license.id
        return license
    return None


def validations(role: str, requests: Sequence[tuple[str, str | None, int]], **cast: Any) -> Step:
    """Licensed software validates the key of the license playing ``role``: one decision per
    ``(fingerprint, region, address)`` (``None``: the license's own region), made and recorded
    as the validation route makes and records it."""

    def step(db: Session, world: World) -> None:
        license = _cast(db, world, role, **cast)
        if license is None:
            return
        key = world.keys[license.id]
        product = db.scalar(select(Product.code).where(Product.id == license.product_id))
        settings = settings_of(db)
        snapshot = validation.load_snapshot(db.connection(), keystore.lookup_hash(settings, key))
        now = clock.now()
        seen = []
        for n, (fingerprint, region, address) in enumerate(requests):
            place = region or license.regions[0]
            request = validation.ValidationRequest.model_validate(
                {
                    "key": key,
                    "product": product,
                    "nonce": f"demo-nonce-{role}-{n}",
                    "fingerprint": fingerprint,
                    "region": place,
                }
            )
            decision = validation.decide(
                snapshot,
                request,
                at=now,
                embargo=frozenset(settings.license_embargoed_regions),
                pending_approval=portability.pending_covers(db, license.id, place, None),
            )
            seen.append(
                checks.Observation(
                    license.id,
                    LICENSED_SOFTWARE_ADDRESS.format(address),
                    fingerprint,
                    place,
                    None,
                    decision.code.value,
                    now + timedelta(seconds=n),
                )
            )
        checks.write(db, seen)

    return step


def activation_cycle(fingerprint: str) -> Step:
    """A deployment activates and is released again at once on a small license: seats cycled
    among more machines than were bought."""

    def step(db: Session, world: World) -> None:
        license = _cast(db, world, "cycled", product="NEG", seat_model="node_locked", max_seats=3)
        if license is None:
            return
        key = world.keys[license.id]
        activations.activate(
            db,
            key=key,
            fingerprint=fingerprint,
            region=license.regions[0],
            customer_name="Harbourside Kiosks",
        )
        activations.deactivate(db, key=key, fingerprint=fingerprint)

    return step


def deploy_outside(region: str, customer: str, justification: str) -> Step:
    """A deployment asks to run outside its license's territory: no seat, a request to
    extend the territory for the governance owner."""

    def step(db: Session, world: World) -> None:
        license = _cast(db, world, "moving", product="NEG", one_region=True)
        if license is None:
            return
        activations.activate(
            db,
            key=world.keys[license.id],
            fingerprint="moving-gateway-0001",
            region=region,
            customer_name=customer,
            justification=justification,
        )

    return step


def issue_for_spike(db: Session, world: World) -> None:
    """A firm holding the connectors agreement takes one more connectors license (its usage
    history is short and steady, until it spikes)."""
    agreement = db.scalar(
        select(Agreement)
        .join(Partner, Partner.id == Agreement.partner_id)
        .where(
            Agreement.template_id == world.templates["NDC-USAGE"],
            Agreement.status == AgreementStatus.ACTIVE.value,
            Partner.status == PartnerStatus.ACTIVE.value,
        )
        .order_by(Agreement.signed_at, Agreement.id)
        .limit(1)
    )
    if agreement is not None:
        world.story["spiking"] = _issue(db, world, agreement.id, 2, "node_locked")


def daily_usage(day: int, quantity: int) -> Step:
    """The spiking license's software reports a day of API calls with its own key."""

    def step(db: Session, world: World) -> None:
        license = _usable(db, world, world.story.get("spiking"))
        if license is None:
            return
        software = usage.license_principal(db, world.keys[license.id])
        usage.report_usage(
            db,
            software,
            records=[
                UsageRecordIn(
                    metric=USAGE_METRIC,
                    quantity=quantity,
                    occurred_at=clock.now(),
                    record_id=f"day-{day}",
                )
            ],
        )

    return step


def annul_security_exams(firms: int) -> Step:
    """A proctoring review annuls the security exams of a few firms' specialists: their
    Security Specialty awards are revoked, and (as the worker does on ``award.revoked``) their
    firms' licenses are judged again, which puts the Security Toolkit ones in grace."""

    def step(db: Session, world: World) -> None:
        nsec = world.certs["NSEC"]
        toolkit = world.products["NST"]
        holders = db.execute(
            select(License.partner_id)
            .join(Partner, Partner.id == License.partner_id)
            .where(
                License.product_id == toolkit,
                License.status == LicenseStatus.ACTIVE.value,
                License.compliance == "ok",
                Partner.status == PartnerStatus.ACTIVE.value,
            )
            .distinct()
            .order_by(License.partner_id)
        ).all()
        for (partner_id,) in holders[:firms]:
            awards = db.scalars(
                select(Award.id)
                .join(Person, Person.id == Award.person_id)
                .where(
                    Person.partner_id == partner_id,
                    Award.certification_id == nsec,
                    Award.status == AwardStatus.ACTIVE.value,
                )
                .order_by(Award.id)
            ).all()
            for award_id in awards:
                credentials.revoke_award(
                    db, world.manager, award_id=award_id, reason=NSEC_ANNULMENT
                )
            compliance.reassess_partner(db, world.worker, partner_id=partner_id)

    return step


def licensing_sweep(db: Session, world: World) -> None:
    """What the worker's licensing tasks do: record expiries (which free their seats), lapse
    licenses whose grace ended, end wind-downs, and reap floating seats gone quiet."""
    service.expire_due_licenses(db, world.worker)
    compliance.lapse_due(db, world.worker)
    compliance.end_wind_downs(db, world.worker)
    activations.reap_dead_activations(db, world.worker)


def reassess_licensed_firms(db: Session, world: World) -> None:
    """Judge every licensed firm's licenses against its agreements (the worker does so on the
    tier engine's events, which the weekly sweep has just recorded)."""
    firms = db.scalars(select(License.partner_id).distinct().order_by(License.partner_id)).all()
    for partner_id in firms:
        compliance.reassess_partner(db, world.worker, partner_id=partner_id)


def scan_alerts(db: Session, world: World) -> None:
    """The worker's anomaly rules over the recent validations, activations and usage."""
    alerts.scan(db, world.worker)
