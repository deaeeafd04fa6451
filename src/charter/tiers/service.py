"""Tier evaluation: one firm now, or every firm in the nightly sweep, with grace applied.

A firm's state is read with a few aggregate queries (:mod:`charter.tiers.state`), judged by the
pure engine in :mod:`charter.tiers.rules`, and written back only where the standing changed,
with its events and firm badges. Re-running an evaluation over unchanged data changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import chunks
from charter.partners.enums import PartnerStatus
from charter.tiers import badges, rules
from charter.tiers.models import FirmTier, TierBadge
from charter.tiers.rules import Change, FirmState, Standing, Tier
from charter.tiers.schemes import SchemeInForce, certification_codes, schemes_in_force
from charter.tiers.standings import standing_of
from charter.tiers.state import Firm, read_firms, read_states


def _ref(tier: Tier | None) -> dict[str, Any]:
    return {"key": tier.key if tier else None, "name": tier.name if tier else None}


@dataclass(slots=True)
class FirmSubject:
    """A firm as the subject of a tier event (``partner`` events name the firm)."""

    __event_subject__: ClassVar[str] = "partner"

    id: str


def _draft(partner_id: str, change: Change) -> events.Draft:
    """The event of one change: ``tier.at_risk``, ``.recovered``, ``.upgraded``, ``.downgraded``."""
    payload: dict[str, Any]
    if change.kind == "at_risk":
        assert change.from_tier is not None
        payload = {
            "tier": change.from_tier.key,
            "tier_name": change.from_tier.name,
            "grace_until": change.grace_until,
            "missing": list(change.missing),
        }
    elif change.kind == "recovered":
        assert change.from_tier is not None
        payload = {"tier": change.from_tier.key, "tier_name": change.from_tier.name}
    else:
        before, after = _ref(change.from_tier), _ref(change.to_tier)
        payload = {
            "from_tier": before["key"],
            "from_tier_name": before["name"],
            "to_tier": after["key"],
            "to_tier_name": after["name"],
        }
    return events.Draft(f"tier.{change.kind}", "partner", partner_id, payload, partner_id)


@dataclass(slots=True)
class _Pending:
    """A firm whose standing changed, waiting to be written."""

    row: FirmTier | None
    firm: Firm
    found: SchemeInForce
    before: Standing
    after: Standing
    changes: list[Change]


def _judge(
    found: SchemeInForce, firm: Firm, row: FirmTier | None, state: FirmState, now: datetime
) -> _Pending | None:
    """Run the engine on one firm; ``None`` when nothing would change."""
    before = standing_of(row)
    after, changes, _ = rules.step(found.scheme, before, state, now)
    if after == before:
        return None
    return _Pending(row, firm, found, before, after, changes)


def _write(db: Session, actor: Principal, pending: Sequence[_Pending], now: datetime) -> None:
    """Store changed standings with their events, revoking and issuing firm badges in bulk."""
    if not pending:
        return
    events.append_many(db, actor, [])  # the log's lock first, as every writer takes it
    rows: list[FirmTier] = []
    for item in pending:
        row = item.row
        if row is None:
            row = FirmTier(partner_id=item.firm.id, program=item.found.program, badge_id=None)
            db.add(row)
        row.tier = item.after.tier
        row.since = item.after.since
        row.at_risk_since = item.after.at_risk_since
        row.grace_until = item.after.grace_until
        row.missing = list(item.after.missing)
        row.scheme_version = item.found.version
        row.evaluated_at = now
        rows.append(row)
    db.flush()
    events.append_many(
        db,
        actor,
        [_draft(item.firm.id, change) for item in pending for change in item.changes],
    )
    moved = [
        (item, row)
        for item, row in zip(pending, rows, strict=True)
        if item.after.tier != item.before.tier
    ]
    old_ids = [row.badge_id for _, row in moved if row.badge_id is not None]
    if old_ids:
        old = {
            badge.id: badge
            for badge in db.scalars(select(TierBadge).where(TierBadge.id.in_(old_ids)))
        }
        for item, row in moved:
            badge = old.get(row.badge_id or "")
            if badge is not None:
                tier = item.found.scheme.get(item.after.tier)
                reason = f"tier changed to {tier.name if tier else 'none'}"
                badges.revoke_firm_badge(db, actor, badge=badge, reason=reason)
    wanted = []
    for item, row in moved:
        row.badge_id = None
        tier = item.found.scheme.get(item.after.tier)
        if tier is not None:
            wanted.append(
                badges.BadgeRequest(
                    partner_id=item.firm.id,
                    partner_name=item.firm.name,
                    program=item.found.program,
                    tier=tier,
                    scheme_version=item.found.version,
                )
            )
    issued = {(b.partner_id, b.program): b.id for b in badges.issue_firm_badges(db, actor, wanted)}
    for item, row in moved:
        row.badge_id = issued.get((item.firm.id, item.found.program))
    db.flush()


def evaluate_firm(db: Session, actor: Principal, *, partner_id: str) -> int:
    """Re-evaluate one firm in every program now; returns how many standings changed."""
    actor.require(Permission.PARTNERS_LIFECYCLE)
    now = clock.now()
    schemes = schemes_in_force(db, now)
    firms = read_firms(db, [partner_id])
    if not firms or not schemes or firms[0].status == PartnerStatus.TERMINATED.value:
        return 0
    state = read_states(db, firms, certification_codes(schemes), now, scoped=True)[partner_id]
    rows = {
        row.program: row
        for row in db.scalars(
            select(FirmTier)
            .where(FirmTier.partner_id == partner_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    pending = [
        item
        for found in schemes
        if (item := _judge(found, firms[0], rows.get(found.program), state, now)) is not None
    ]
    _write(db, actor, pending, now)
    return len(pending)


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What a full sweep looked at and changed."""

    firms: int
    changed: int


def sweep(db: Session, actor: Principal) -> SweepReport:
    """Re-evaluate every firm in every program, applying grace expiries (the nightly run).

    Set-based: a few aggregate queries read every firm's state, the engine judges them in
    memory, and only firms whose standing changed are written, in bulk.
    """
    actor.require(Permission.PARTNERS_LIFECYCLE)
    now = clock.now()
    schemes = schemes_in_force(db, now)
    if not schemes:
        return SweepReport(0, 0)
    firms = [firm for firm in read_firms(db, None) if firm.status != PartnerStatus.TERMINATED.value]
    states = read_states(db, firms, certification_codes(schemes), now, scoped=False)
    rows = {(row.partner_id, row.program): row for row in db.scalars(select(FirmTier))}
    pending = [
        item
        for found in schemes
        for firm in firms
        if (item := _judge(found, firm, rows.get((firm.id, found.program)), states[firm.id], now))
        is not None
    ]
    pending = _recheck(db, pending, states, now)
    _write(db, actor, pending, now)
    return SweepReport(len(firms), len(pending))


def _recheck(
    db: Session, pending: Sequence[_Pending], states: dict[str, FirmState], now: datetime
) -> list[_Pending]:
    """Lock the standings about to change and judge them again as they are now.

    The sweep reads every standing without locks; an event handler may have changed one of
    them since. Locking only the few rows that change, and judging those again, keeps a
    concurrent handler and the sweep from announcing the same change twice.
    """
    ids = sorted({item.firm.id for item in pending if item.row is not None})
    fresh: dict[tuple[str, str], FirmTier] = {}
    for part in chunks(ids):
        query = (
            select(FirmTier)
            .where(FirmTier.partner_id.in_(part))
            .order_by(FirmTier.partner_id, FirmTier.program)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        fresh.update({(row.partner_id, row.program): row for row in db.scalars(query)})
    checked = []
    for item in pending:
        row = fresh.get((item.firm.id, item.found.program), item.row)
        again = _judge(item.found, item.firm, row, states[item.firm.id], now)
        if again is not None:
            checked.append(again)
    return checked
