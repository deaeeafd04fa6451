"""Usage metering: batches of records stored once each, monthly rollups, caps.

A record is counted once however often it is sent: ``(license_id, record_id)`` is unique and
records are inserted with ``ON CONFLICT DO NOTHING``, so only the rows the database actually
inserted are added to the rollups, in the same transaction. A batch is checked whole before
anything is written: one bad record refuses it, every bad record named by its index and field.

Caps come from the agreement's terms (``usage_caps``). When a license's use of a metric passes
its cap in a period, ``license.usage_over_cap`` is recorded once for that period and metric.
With the ``deny`` overage, :func:`usage_over_cap` names the metric until the period ends:
license validation should then refuse the license (the use itself is still recorded, as it
happened).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import FieldError, Invalid, Unauthorized
from charter.core.ids import new_id
from charter.db import bulk
from charter.db.engine import settings_of
from charter.licensing import keyformat, keystore, metering, rules, service
from charter.licensing.models import Agreement, AgreementVersion, License
from charter.licensing.usage_models import UsageCapPassed, UsageRollup

USAGE_RECORDS = bulk.BulkTable(
    "usage_records",
    ("id", "license_id", "metric", "quantity", "occurred_at", "record_id", "received_at"),
    ("text", "text", "text", "int8", "timestamptz", "text", "timestamptz"),
)
_CONFLICT = ("license_id", "record_id")
_RETURNING = ("license_id", "record_id")
LICENSE_ACTOR = "license"
"""The principal kind of licensed software reporting with its license key."""


class Reading(NamedTuple):
    """One record checked and ready to store."""

    license_id: str
    metric: str
    quantity: int
    occurred_at: datetime
    record_id: str


class Receipt(NamedTuple):
    """What storing a batch did."""

    received: int
    accepted: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class Metered:
    """What checking and capping a license's usage needs to know of it."""

    id: str
    partner_id: str
    valid_from: datetime
    allowed: frozenset[str] | None
    caps: dict[str, metering.UsageCap]


def license_principal(db: Session, key: str) -> Principal:
    """Licensed software authenticated by its license key: it may report its own usage only.

    :class:`Invalid` naming ``key`` when it cannot be a key, :class:`Unauthorized` when no
    license has it.
    """
    try:
        canonical = keyformat.normalize(key)
    except keyformat.MalformedKey as error:
        raise Invalid.field("key", str(error)) from None
    digest = keystore.lookup_hash(settings_of(db), canonical)
    found = db.execute(
        select(License.id, License.partner_id, License.key_prefix).where(License.key_hash == digest)
    ).first()
    if found is None:
        raise Unauthorized("no license has this key")
    return Principal(
        kind=LICENSE_ACTOR,
        id=found.id,
        role=None,
        permissions=frozenset({Permission.USAGE_REPORT}),
        partner_id=found.partner_id,
        name=f"license {found.key_prefix}",
    )


def metered_licenses(db: Session, license_ids: Iterable[str]) -> dict[str, Metered]:
    """The licenses named, with the metrics and caps of their agreements' terms."""
    wanted = sorted(set(license_ids))
    if not wanted:
        return {}
    rows = db.execute(
        select(License.id, License.partner_id, License.valid_from, AgreementVersion.terms)
        .join(Agreement, Agreement.id == License.agreement_id)
        .join(AgreementVersion, AgreementVersion.id == Agreement.version_id)
        .where(License.id.in_(wanted))
    ).all()
    found: dict[str, Metered] = {}
    for row in rows:
        terms = rules.Terms.model_validate(row.terms)
        unit = terms.fee.unit if isinstance(terms.fee, rules.UsageFee) else None
        found[row.id] = Metered(
            row.id,
            row.partner_id,
            row.valid_from,
            metering.metrics_named(unit, terms.usage_caps),
            dict(terms.usage_caps),
        )
    return found


def check_batch(
    db: Session, actor: Principal, records: Sequence[Any], *, field: str = "records"
) -> tuple[list[Reading], dict[str, Metered]]:
    """Every record of a batch checked (each has ``license_id``, ``metric``, ``quantity``,
    ``occurred_at``, ``record_id``); :class:`Invalid` naming each bad one by index and field."""
    if len(records) > metering.MAX_BATCH:
        raise Invalid.field(field, f"at most {metering.MAX_BATCH} records a batch")
    own = actor.id if actor.kind == LICENSE_ACTOR else None
    problems: list[FieldError] = []
    named: list[str | None] = []
    for index, record in enumerate(records):
        license_id = record.license_id or own
        if license_id is None:
            problems.append(
                FieldError(f"{field}.{index}.license_id", "name the license the use is of")
            )
        elif own is not None and license_id != own:
            problems.append(
                FieldError(f"{field}.{index}.license_id", "the key is of another license")
            )
            license_id = None
        named.append(license_id)
    licenses = metered_licenses(db, (item for item in named if item is not None))
    scope = actor.partner_scope
    now = clock.now()
    readings: list[Reading] = []
    for index, (record, license_id) in enumerate(zip(records, named, strict=True)):
        if license_id is None:
            continue
        metered = licenses.get(license_id)
        if metered is None or (scope is not None and metered.partner_id != scope):
            problems.append(FieldError(f"{field}.{index}.license_id", f"no license {license_id}"))
            continue
        occurred_at = clock.ensure_utc(record.occurred_at)
        problem = metering.record_problem(
            metric=record.metric,
            occurred_at=occurred_at,
            allowed=metered.allowed,
            license_start=metered.valid_from,
            now=now,
        )
        if problem is not None:
            problems.append(FieldError(f"{field}.{index}.{problem[0]}", problem[1]))
            continue
        readings.append(
            Reading(license_id, record.metric, record.quantity, occurred_at, record.record_id)
        )
    if problems:
        bad = len({problem.field.split(".")[1] for problem in problems})
        raise Invalid(f"{bad} of {len(records)} records are invalid; nothing was stored", problems)
    return readings, licenses


def report_usage(db: Session, actor: Principal, *, records: Sequence[Any]) -> Receipt:
    """Store a batch of usage records, all or none: each record counted once however often it
    is sent, the rollups and caps kept in the same transaction."""
    actor.require(Permission.USAGE_REPORT)
    readings, licenses = check_batch(db, actor, records)
    return store_readings(db, actor, readings, licenses=licenses)


def store_readings(
    db: Session,
    actor: Principal,
    readings: Sequence[Reading],
    *,
    licenses: dict[str, Metered] | None = None,
) -> Receipt:
    """Insert checked readings (at most :data:`metering.MAX_BATCH` a statement), add the new
    ones to the rollups, and flag caps passed (``licenses``: the readings' licenses, if the
    caller has them already). The caller owns the transaction."""
    connection = db.connection()
    dialect = connection.dialect.name
    bound = _bound_time(dialect)
    now = bound(clock.now())
    accepted = 0
    added: dict[tuple[str, str, datetime], int] = defaultdict(int)
    for start in range(0, len(readings), metering.MAX_BATCH):
        part = readings[start : start + metering.MAX_BATCH]
        # A record repeated within the batch counts once: the first stands.
        unique: dict[tuple[str, str], Reading] = {}
        for reading in part:
            unique.setdefault((reading.license_id, reading.record_id), reading)
        rows = [
            (
                new_id("usg"),
                reading.license_id,
                reading.metric,
                reading.quantity,
                bound(reading.occurred_at),
                reading.record_id,
                now,
            )
            for reading in unique.values()
        ]
        inserted = bulk.insert_new_rows(
            db, USAGE_RECORDS, rows, conflict=_CONFLICT, returning=_RETURNING
        )
        accepted += len(inserted)
        for license_id, record_id in inserted:
            reading = unique[(license_id, record_id)]
            added[(license_id, reading.metric, metering.month_start(reading.occurred_at))] += (
                reading.quantity
            )
    _add_to_rollups(db, added, dialect)
    _flag_caps(db, actor, set(added), licenses)
    return Receipt(len(readings), accepted, len(readings) - accepted)


def _add_to_rollups(db: Session, added: dict[tuple[str, str, datetime], int], dialect: str) -> None:
    if not added:
        return
    mark = "?" if dialect == "sqlite" else "%s"
    values = ", ".join([f"({mark}, {mark}, {mark}, {mark})"] * len(added))
    # Only the quantities of records this transaction inserted: a total never counts one twice.
    sql = (
        f"INSERT INTO usage_rollups (license_id, metric, period, total) VALUES {values} "  # noqa: S608
        "ON CONFLICT (license_id, metric, period) "
        "DO UPDATE SET total = usage_rollups.total + excluded.total"
    )
    params: list[Any] = []
    for (license_id, metric, period), total in sorted(added.items()):
        params.extend((license_id, metric, bulk.bound_time(period, dialect), total))
    db.connection().exec_driver_sql(sql, tuple(params))


def _window_total(
    db: Session, license_id: str, metric: str, window: tuple[datetime, datetime]
) -> int:
    total = db.scalar(
        select(func.coalesce(func.sum(UsageRollup.total), 0)).where(
            UsageRollup.license_id == license_id,
            UsageRollup.metric == metric,
            UsageRollup.period >= window[0],
            UsageRollup.period < window[1],
        )
    )
    return int(total or 0)


def _bound_time(dialect: str) -> Callable[[datetime], Any]:
    """How timestamps are bound in a batch: as :func:`bulk.bound_time`, made fast (its
    ``strftime`` would cost a good part of the insert on SQLite)."""
    if dialect != "sqlite":
        return clock.ensure_utc
    return lambda at: clock.ensure_utc(at).replace(tzinfo=None).isoformat(" ", "microseconds")


def _flag_caps(
    db: Session,
    actor: Principal,
    touched: set[tuple[str, str, datetime]],
    known: dict[str, Metered] | None,
) -> None:
    wanted = {license_id for license_id, _, _ in touched}
    if known is not None and wanted <= known.keys():
        licenses = known
    else:
        licenses = metered_licenses(db, wanted)
    if not any(licenses[license_id].caps for license_id in wanted):
        return
    windows: set[tuple[str, str, datetime, datetime]] = set()
    for license_id, metric, period in touched:
        cap = licenses[license_id].caps.get(metric)
        if cap is not None:
            windows.add((license_id, metric, *metering.cap_window(cap.period, period)))
    drafts: list[events.Draft] = []
    now = clock.now()
    for license_id, metric, start, end in sorted(windows):
        metered = licenses[license_id]
        cap = metered.caps[metric]
        total = _window_total(db, license_id, metric, (start, end))
        if not metering.is_over(total, cap):
            continue
        key = {"license_id": license_id, "metric": metric, "period": start}
        if db.get(UsageCapPassed, (license_id, metric, start)) is not None:
            continue
        # A savepoint: a concurrent batch that flagged it first makes this one a no-op.
        try:
            with db.begin_nested():
                db.add(
                    UsageCapPassed(
                        **key,
                        cap_limit=cap.limit,
                        overage=cap.overage.value,
                        passed_at=now,
                    )
                )
                db.flush()
        except IntegrityError:
            continue
        drafts.append(
            events.Draft(
                "license.usage_over_cap",
                "license",
                license_id,
                {
                    "metric": metric,
                    "period": cap.period,
                    "period_start": start,
                    "limit": cap.limit,
                    "total": total,
                    "overage": cap.overage.value,
                },
                partner_id=metered.partner_id,
            )
        )
    if drafts:
        events.append_many(db, actor, drafts)


def usage_over_cap(db: Session, license_id: str, at: datetime | None = None) -> list[str]:
    """The metrics whose ``deny`` cap the license's use has passed in the cap period running at
    ``at`` (now), sorted: license validation should refuse the license while this is not empty.

    Reads the caps of the license's agreement as they are now, so a new agreement version
    with a higher cap lifts the denial at once.
    """
    metered = metered_licenses(db, [license_id]).get(license_id)
    if metered is None:
        return []
    when = at or clock.now()
    over: list[str] = []
    for metric, cap in sorted(metered.caps.items()):
        if cap.overage is not metering.Overage.DENY:
            continue
        total = _window_total(db, license_id, metric, metering.cap_window(cap.period, when))
        if metering.is_over(total, cap):
            over.append(metric)
    return over


def list_usage(
    db: Session,
    actor: Principal,
    *,
    license_id: str,
    metric: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[UsageRollup]:
    """A license's monthly rollups, oldest first, optionally of one metric and of the months
    from the one ``since`` falls in to the one before ``until``; partner users see their own
    firm's licenses only."""
    license = service.get_license(db, actor, license_id=license_id)
    query = select(UsageRollup).where(UsageRollup.license_id == license.id)
    if metric is not None:
        query = query.where(UsageRollup.metric == metric)
    if since is not None:
        query = query.where(UsageRollup.period >= metering.month_start(since))
    if until is not None:
        query = query.where(UsageRollup.period < until)
    return list(db.scalars(query.order_by(UsageRollup.period, UsageRollup.metric)))


@dataclass(frozen=True, slots=True)
class CapUse:
    """A license's use of one capped metric in the cap period running now."""

    metric: str
    used: int
    cap: metering.UsageCap
    period_start: datetime
    period_end: datetime

    @property
    def over(self) -> bool:
        """Whether the use has passed the cap."""
        return metering.is_over(self.used, self.cap)

    @property
    def percent(self) -> int:
        """The share of the cap used, in whole percent (rounded down: 100 means reached)."""
        return self.used * 100 // self.cap.limit


def _worst(uses: Iterable[CapUse]) -> CapUse | None:
    """The use nearest its cap, or furthest over it (by share; ties by metric)."""
    return max(uses, key=lambda use: (use.used / use.cap.limit, use.metric), default=None)


def worst_caps(
    db: Session, actor: Principal, *, license_ids: Iterable[str], at: datetime | None = None
) -> dict[str, CapUse]:
    """For each license named that has caps, the capped metric it has used the largest share
    of in the period running at ``at`` (now). Two queries for any number of licenses (a list's
    page); licenses outside the caller's scope, and those without caps, are left out."""
    actor.require(Permission.LICENSES_READ)
    metered = {
        license_id: found
        for license_id, found in metered_licenses(db, license_ids).items()
        if found.caps and (actor.partner_scope is None or found.partner_id == actor.partner_scope)
    }
    if not metered:
        return {}
    when = at or clock.now()
    month = metering.cap_window("month", when)
    year = metering.cap_window("year", when)
    # Every month lies within its year: one pass over the year's rollups gives both totals.
    in_month = and_(UsageRollup.period >= month[0], UsageRollup.period < month[1])
    rows = db.execute(
        select(
            UsageRollup.license_id,
            UsageRollup.metric,
            func.sum(case((in_month, UsageRollup.total), else_=0)).label("month"),
            func.sum(UsageRollup.total).label("year"),
        )
        .where(
            UsageRollup.license_id.in_(sorted(metered)),
            UsageRollup.metric.in_(sorted({m for found in metered.values() for m in found.caps})),
            UsageRollup.period >= year[0],
            UsageRollup.period < year[1],
        )
        .group_by(UsageRollup.license_id, UsageRollup.metric)
    ).all()
    totals = {(row.license_id, row.metric): (int(row.month), int(row.year)) for row in rows}
    found: dict[str, CapUse] = {}
    for license_id, licensed in metered.items():
        uses = []
        for metric, cap in licensed.caps.items():
            in_period = totals.get((license_id, metric), (0, 0))
            window = month if cap.period == "month" else year
            used = in_period[0] if cap.period == "month" else in_period[1]
            uses.append(CapUse(metric, used, cap, window[0], window[1]))
        worst = _worst(uses)
        if worst is not None:
            found[license_id] = worst
    return found


def usage_against_caps(
    db: Session, actor: Principal, *, license_id: str, at: datetime | None = None
) -> list[CapUse]:
    """A license's use of each capped metric in the period running at ``at`` (now), by metric;
    partner users see their own firm's licenses only."""
    license = service.get_license(db, actor, license_id=license_id)
    metered = metered_licenses(db, [license.id]).get(license.id)
    if metered is None:
        return []
    when = at or clock.now()
    found = []
    for metric, cap in sorted(metered.caps.items()):
        window = metering.cap_window(cap.period, when)
        used = _window_total(db, license.id, metric, window)
        found.append(CapUse(metric, used, cap, window[0], window[1]))
    return found


@dataclass(frozen=True, slots=True)
class CapStanding:
    """A metric's use in the cap period running now, against its agreement's cap (flat, for
    a page's table)."""

    metric: str
    limit: int
    period: str
    overage: str
    used: int
    window_start: datetime

    @property
    def over(self) -> bool:
        """Whether the use has passed the cap."""
        return self.used > self.limit


def cap_standings(
    db: Session, actor: Principal, *, license_id: str, at: datetime | None = None
) -> list[CapStanding]:
    """:func:`usage_against_caps`, flat: each capped metric with its limit, period, overage
    policy and use, by metric."""
    return [
        CapStanding(
            use.metric,
            use.cap.limit,
            use.cap.period,
            use.cap.overage.value,
            use.used,
            use.period_start,
        )
        for use in usage_against_caps(db, actor, license_id=license_id, at=at)
    ]
