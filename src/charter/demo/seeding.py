"""Seeding: the planned history replayed through the services into a new database, and a
summary of what the database holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from charter.accounts.models import User
from charter.approvals.enums import ApprovalState
from charter.approvals.models import ApprovalRequest
from charter.core import clock
from charter.core.auth import Principal, Role
from charter.core.models import Event
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.db.engine import make_engine, make_sessionmaker, settings_of
from charter.db.migrate import upgrade
from charter.demo.plan import World
from charter.demo.planner import Planner
from charter.licensing import activations, keystore
from charter.licensing.alert_models import LicenseAlert
from charter.licensing.enums import (
    ActivationState,
    AgreementStatus,
    LicenseStatus,
    SeatModel,
)
from charter.licensing.models import (
    Agreement,
    AgreementVersion,
    License,
    LicenseActivation,
    Product,
)
from charter.licensing.usage_models import UsageCapPassed, UsageRecord
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner, Person
from charter.programs.models import Assessment, Certification, CriteriaVersion
from charter.tiers.enums import BadgeStatus
from charter.tiers.models import FirmTier, TierBadge


@dataclass(frozen=True, slots=True)
class LicensingSummary:
    """What the demo database holds of licensing."""

    products: int
    agreement_versions: int
    agreements: int
    licenses_by_status: dict[str, int]
    licenses_in_grace: int
    activations_by_state: dict[str, int]
    stale_activations: int
    usage_records: int
    licenses_over_cap: int
    pending_approvals: int
    alerts_by_rule: dict[str, int]
    try_key: str | None
    try_product: str | None

    @property
    def licenses(self) -> int:
        """All licenses, whatever their status."""
        return sum(self.licenses_by_status.values())


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
    licensing: LicensingSummary

    @property
    def partners(self) -> int:
        """All partner firms."""
        return sum(self.partners_by_status.values())

    @property
    def awards(self) -> int:
        """All awards, whatever their status."""
        return sum(self.awards_by_status.values())


Progress = Callable[[int, int], None]
"""Told ``(steps done, steps in all)`` as seeding goes."""


def seed(db_url: str, progress: Progress | None = None) -> SeedSummary:
    """Migrate ``db_url`` and fill it with the Nimbus Cloud program, unless it has partners;
    ``progress`` hears how far the seeding is after each step."""
    started = time.perf_counter()
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions() as db, db.begin():
            if db.scalar(select(func.count()).select_from(Partner)):
                return _summary(db, created=False, seconds=time.perf_counter() - started)
        now = clock.now().replace(second=0, microsecond=0)
        actions = Planner(now).plan()
        placeholder = Principal.system("demo")
        world = World(manager=placeholder, worker=Principal.system("worker"))
        frozen = clock.FrozenClock(actions[0].at)
        # One transaction: a seed that fails half-way leaves an empty database, so the next
        # run starts over instead of finding partners and keeping half a program.
        with sessions() as db, db.begin(), clock.use(frozen):
            for done, action in enumerate(actions, start=1):
                frozen.set(action.at)
                action.step(db, world)
                if progress is not None:
                    progress(done, len(actions))
            return _summary(db, created=True, seconds=time.perf_counter() - started)
    finally:
        engine.dispose()


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
        select(User.email)
        .where(User.role == Role.PARTNER_ADMIN.value)
        .order_by(User.created_at, User.id)
        .limit(1)
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
        licensing=_licensing(db, now),
    )


def _licensing(db: Session, now: datetime) -> LicensingSummary:
    def count(model: Any, *where: Any) -> int:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def grouped(column: Any, names: list[str], *where: Any) -> dict[str, int]:
        counts = dict.fromkeys(names, 0)
        for name, number in db.execute(select(column, func.count()).where(*where).group_by(column)):
            counts[str(name)] = counts.get(str(name), 0) + number
        return counts

    # A node-locked machine not heard from for a week, or a floating lease whose heartbeats
    # stopped (reaped, or not yet).
    window = activations.heartbeat_window(db)
    stale = count(
        LicenseActivation,
        LicenseActivation.state == ActivationState.ACTIVE.value,
        or_(
            and_(
                LicenseActivation.kind == SeatModel.NODE_LOCKED.value,
                LicenseActivation.last_heartbeat_at < now - timedelta(days=7),
            ),
            and_(
                LicenseActivation.kind == SeatModel.FLOATING.value,
                LicenseActivation.last_heartbeat_at <= now - window,
            ),
        ),
    ) + count(LicenseActivation, LicenseActivation.state == ActivationState.REAPED.value)
    try_key, try_product = _key_to_try(db, now)
    return LicensingSummary(
        products=count(Product),
        agreement_versions=count(AgreementVersion),
        agreements=count(Agreement, Agreement.status == AgreementStatus.ACTIVE.value),
        licenses_by_status=grouped(License.status, [s.value for s in LicenseStatus]),
        licenses_in_grace=count(License, License.compliance == "grace"),
        activations_by_state=grouped(LicenseActivation.state, [s.value for s in ActivationState]),
        stale_activations=stale,
        usage_records=count(UsageRecord),
        licenses_over_cap=db.scalar(select(func.count(func.distinct(UsageCapPassed.license_id))))
        or 0,
        pending_approvals=count(
            ApprovalRequest, ApprovalRequest.state == ApprovalState.PENDING.value
        ),
        alerts_by_rule=dict(
            sorted(grouped(LicenseAlert.rule, [], LicenseAlert.state != "resolved").items())
        ),
        try_key=try_key,
        try_product=try_product,
    )


def _key_to_try(db: Session, now: datetime) -> tuple[str | None, str | None]:
    """The key of a deployed license that validates as ``VALID`` (active, in good standing,
    no alert on it), with its product's code: read from its sealed copy, as the firm's admin
    would."""
    row = db.execute(
        select(License.id, License.key_sealed, Product.code)
        .join(Product, Product.id == License.product_id)
        .join(Partner, Partner.id == License.partner_id)
        .where(
            License.status == LicenseStatus.ACTIVE.value,
            License.valid_until > now + timedelta(days=30),
            License.compliance == "ok",
            License.activations_closed_at.is_(None),
            Partner.status == PartnerStatus.ACTIVE.value,
            License.id.not_in(select(LicenseAlert.license_id)),
            # Deployed, so that its activations have something to show.
            License.id.in_(
                select(LicenseActivation.license_id).where(
                    LicenseActivation.state == ActivationState.ACTIVE.value
                )
            ),
        )
        .order_by(Product.code, License.valid_from)
        .limit(1)
    ).first()
    if row is None:
        return None, None
    try:
        return keystore.unseal(settings_of(db), row.id, row.key_sealed), row.code
    except keystore.SealedKeyError:
        return None, None  # seeded under another secret key: its license keys are unusable
