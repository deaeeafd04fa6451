"""Reports on firms' tiers: the firms at risk with the renewals that save them, and movements."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.core.i18n import N_
from charter.core.models import Event
from charter.partners.models import Partner
from charter.reports import sql
from charter.reports.schemas import Cell, ColumnKind, ReportOut, make_table
from charter.tiers.forecast import forecast
from charter.tiers.models import FirmTier
from charter.tiers.schemes import schemes_in_force

TEXT, COUNT, DATE = ColumnKind.TEXT, ColumnKind.COUNT, ColumnKind.DATE
MOVEMENTS = ("upgraded", "downgraded", "at_risk", "recovered")
AT_RISK_NOW = N_("at risk now")
FALLS_BELOW = N_("falls below")
# Texts carrying the report's ``days``: pages translate them as formats (see service.FORMATS).
AT_RISK_DESCRIPTION = N_(
    "Firms in their grace period now, and firms meeting their tier that fall below it "
    "within %(days)s days unless the people named renew."
)
FALL_BELOW_WITHIN = N_("Fall below within %(days)s days")


def firms_at_risk(db: Session, actor: Principal, *, now: datetime, days: int = 90) -> ReportOut:
    """Firms at risk now (in grace), and firms that fall below their tier within ``days``
    unless the people named renew (the tiers forecast)."""
    names = {
        (found.program, tier.key): tier.name
        for found in schemes_in_force(db, now)
        for tier in found.scheme.tiers
    }
    at_risk = db.execute(
        select(
            Partner.id,
            Partner.name,
            FirmTier.program,
            FirmTier.tier,
            FirmTier.grace_until,
            FirmTier.missing,
        )
        .join(Partner, Partner.id == FirmTier.partner_id)
        .where(FirmTier.at_risk_since.is_not(None))
        .order_by(FirmTier.grace_until, Partner.name)
    ).all()
    firms: list[dict[str, Cell]] = [
        {
            "partner_id": partner_id,
            "firm": name,
            "program": program,
            "tier": names.get((program, tier or ""), tier),
            "state": AT_RISK_NOW,
            "on": grace.date().isoformat() if grace else None,
            "missing": "; ".join(str(item) for item in missing or []),
            "renewals": "",
        }
        for partner_id, name, program, tier, grace, missing in at_risk
    ]
    falling = forecast(db, actor, days=days)
    for item in falling:
        firms.append(
            {
                "partner_id": item.partner_id,
                "firm": item.partner_name,
                "program": item.program,
                "tier": item.tier.name,
                "state": FALLS_BELOW,
                "on": item.falls_below_on.date().isoformat(),
                "missing": "; ".join(item.missing),
                "renewals": "; ".join(
                    f"{person.name} {person.certification_code} "
                    f"(expires {person.valid_until:%Y-%m-%d})"
                    for person in item.renewals
                ),
            }
        )
    now_by_tier = {
        (program, tier): count
        for program, tier, count in db.execute(
            select(FirmTier.program, FirmTier.tier, func.count())
            .where(FirmTier.at_risk_since.is_not(None))
            .group_by(FirmTier.program, FirmTier.tier)
        )
    }
    # The forecast is the tiers service's replay of each firm's expiries, not a query: its
    # firms are tallied as it lists them.
    forecast_by_tier: Counter[tuple[str, str | None]] = Counter(
        (item.program, item.tier.key) for item in falling
    )
    tiers = sorted(set(now_by_tier) | set(forecast_by_tier), key=lambda k: (k[0], k[1] or ""))
    summary: list[dict[str, Cell]] = [
        {
            "program": program,
            "tier": names.get((program, tier or ""), tier),
            "at_risk_now": int(now_by_tier.get((program, tier), 0)),
            "falls_below": forecast_by_tier.get((program, tier), 0),
        }
        for program, tier in tiers
    ]
    return ReportOut(
        name="firms-at-risk",
        title=N_("Firms at risk"),
        description=AT_RISK_DESCRIPTION % {"days": days},
        generated_at=now,
        parameters={"days": str(days)},
        tables=[
            make_table(
                "tiers",
                N_("Firms at risk per tier"),
                [
                    ("program", N_("Program"), TEXT),
                    ("tier", N_("Tier"), TEXT),
                    ("at_risk_now", N_("At risk now"), COUNT),
                    ("falls_below", FALL_BELOW_WITHIN % {"days": days}, COUNT),
                ],
                summary,
            ),
            make_table(
                "firms",
                N_("Firms and the renewals that would save them"),
                [
                    ("firm", N_("Firm"), TEXT),
                    ("partner_id", N_("Firm id"), TEXT),
                    ("program", N_("Program"), TEXT),
                    ("tier", N_("Tier"), TEXT),
                    ("state", N_("State"), TEXT),
                    ("on", N_("Grace ends or falls below on"), DATE),
                    ("missing", N_("Missing"), TEXT),
                    ("renewals", N_("Renewals that would save it"), TEXT),
                ],
                firms,
            ),
        ],
    )


def tier_movements(db: Session, *, now: datetime, months: int = 12) -> ReportOut:
    """Tier changes per month, from the events log: upgrades, downgrades, at risk, recovered."""
    starts = sql.month_starts(now, months)
    month = sql.month_of(db, Event.occurred_at)
    kinds = [
        func.count(case((Event.type == f"tier.{kind}", Event.seq))).label(kind)
        for kind in MOVEMENTS
    ]
    query = (
        select(month, *kinds)
        .where(
            Event.type.in_([f"tier.{kind}" for kind in MOVEMENTS]),
            Event.occurred_at >= sql.instant(starts[0]),
        )
        .group_by(month)
    )
    counted = {row[0]: row[1:] for row in db.execute(query)}
    rows: list[dict[str, Cell]] = []
    for start in starts:
        label = f"{start:%Y-%m}"
        values = counted.get(label, (0,) * len(MOVEMENTS))
        rows.append({"month": label, **{k: int(v) for k, v in zip(MOVEMENTS, values, strict=True)}})
    return ReportOut(
        name="tier-movements",
        title=N_("Tier movements"),
        description=N_(
            "Firms' tier changes per month, counted from the events log: moved up (or given a "
            "first tier), moved down, put at risk, recovered from risk."
        ),
        generated_at=now,
        parameters={"months": str(months)},
        tables=[
            make_table(
                "months",
                N_("Tier changes per month"),
                [
                    ("month", N_("Month"), TEXT),
                    ("upgraded", N_("Upgraded"), COUNT),
                    ("downgraded", N_("Downgraded"), COUNT),
                    ("at_risk", N_("Put at risk"), COUNT),
                    ("recovered", N_("Recovered"), COUNT),
                ],
                rows,
            )
        ],
    )
