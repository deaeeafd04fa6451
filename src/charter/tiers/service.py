"""Partner tiers: versioned schemes, track records, evaluation with grace, forecasts, termination.

A firm's state is read with a few aggregate queries (for one firm, or for every firm at once in
the nightly sweep), judged by the pure engine in :mod:`charter.tiers.rules`, and written back
only where the standing changed, with its events and firm badges. Re-running an evaluation
over unchanged data changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import (
    Columns,
    CsvRow,
    ImportReport,
    Progress,
    chunks,
    describe,
    duplicates_within,
    insert_batches,
    lookup,
    open_import,
    optional,
    record_created,
)
from charter.core.errors import Conflict, Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.db.engine import settings_of
from charter.partners import rules as partner_rules
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner, Person
from charter.programs.models import Certification
from charter.tiers import badges, rules
from charter.tiers.models import DEFAULT_PROGRAM, FirmTier, TierBadge, TierScheme, TrackRecord
from charter.tiers.rules import Change, FirmState, Scheme, Standing, Tier
from charter.tiers.schemas import (
    FirmTierOut,
    ForecastItem,
    RenewalCandidate,
    SchemeCreate,
    TierRef,
    TrackRecordCreate,
)

FORECAST_HORIZONS = (30, 60, 90)


# Schemes


def _program(value: str | None) -> str:
    return value or DEFAULT_PROGRAM


def _versions(db: Session, program: str) -> list[TierScheme]:
    query = select(TierScheme).where(TierScheme.program == program).order_by(TierScheme.version)
    return list(db.scalars(query))


def _in_force(versions: Sequence[TierScheme], at: datetime) -> TierScheme | None:
    due = [version for version in versions if version.effective_from <= at]
    return max(due, key=lambda v: (v.effective_from, v.version), default=None)


def publish_scheme(db: Session, actor: Principal, *, data: SchemeCreate) -> TierScheme:
    """Publish a new version of a program's tiers, in force from ``effective_from`` (now).

    Like certification criteria, a version may be scheduled ahead but never dated before the
    latest one: the history of what each tier required when must not be rewritten.
    """
    actor.require(Permission.CERTIFICATIONS_WRITE)
    try:
        scheme = Scheme(tiers=data.tiers)
    except ValidationError as error:
        raise Invalid.field("tiers", describe(error)) from None
    known = set(
        db.scalars(
            select(Certification.code).where(Certification.code.in_(scheme.certification_codes()))
        )
    )
    for index, tier in enumerate(scheme.tiers):
        needs = tier.requirements
        for code in needs.min_certified_by_certification:
            if code not in known:
                raise Invalid.field(
                    f"tiers.{index}.requirements.min_certified_by_certification.{code}",
                    f"no certification with code {code}",
                )
        for position, code in enumerate(needs.required_certifications):
            if code not in known:
                raise Invalid.field(
                    f"tiers.{index}.requirements.required_certifications.{position}",
                    f"no certification with code {code}",
                )
    now = clock.now()
    effective_from = data.effective_from or now
    versions = _versions(db, data.program)
    latest = max(versions, key=lambda v: (v.effective_from, v.version), default=None)
    if latest is not None and effective_from < latest.effective_from:
        raise Invalid.field(
            "effective_from",
            f"must not be before {latest.effective_from.isoformat()}, when version "
            f"{latest.version} takes effect",
        )
    row = TierScheme(
        id=new_id("tsc"),
        program=data.program,
        version=max((v.version for v in versions), default=0) + 1,
        effective_from=effective_from,
        tiers=[tier.model_dump(mode="json") for tier in scheme.ranked()],
        created_at=now,
    )
    db.add(row)
    db.flush()
    events.append(
        db,
        actor,
        "tier_scheme.published",
        row,
        program=row.program,
        version=row.version,
        effective_from=row.effective_from,
        previous_version=latest.version if latest else None,
        tiers=[tier.key for tier in scheme.ranked()],
    )
    return row


def list_schemes(
    db: Session, actor: Principal, *, program: str | None = None
) -> list[tuple[TierScheme, bool]]:
    """Every published scheme version (of ``program``, or all), with whether it is in force."""
    actor.require(Permission.PARTNERS_READ)
    query = select(TierScheme).order_by(TierScheme.program, TierScheme.version)
    if program is not None:
        query = query.where(TierScheme.program == program)
    rows = list(db.scalars(query))
    now = clock.now()
    by_program: dict[str, list[TierScheme]] = defaultdict(list)
    for row in rows:
        by_program[row.program].append(row)
    current = {name: _in_force(versions, now) for name, versions in by_program.items()}
    return [(row, current.get(row.program) is row) for row in rows]


@dataclass(frozen=True, slots=True)
class SchemeInForce:
    """A program's scheme version in force, parsed."""

    program: str
    version: int
    scheme: Scheme


def schemes_in_force(db: Session, at: datetime) -> list[SchemeInForce]:
    """The scheme version in force at ``at`` for every program that has one."""
    by_program: dict[str, list[TierScheme]] = defaultdict(list)
    for row in db.scalars(select(TierScheme).where(TierScheme.effective_from <= at)):
        by_program[row.program].append(row)
    found = []
    for program in sorted(by_program):
        current = _in_force(by_program[program], at)
        assert current is not None
        scheme = Scheme.model_validate({"tiers": current.tiers})
        found.append(SchemeInForce(program, current.version, scheme))
    return found


# Track records


def _partner(db: Session, actor: Principal, partner_id: str, field: str | None = None) -> Partner:
    found = db.get(Partner, partner_id) if is_id(partner_id, "prt") else None
    if found is None or (actor.partner_scope is not None and found.id != actor.partner_scope):
        if field is not None:
            raise Invalid.field(field, f"no partner with id {partner_id}")
        raise NotFound(f"partner {partner_id} not found")
    return found


def record_track_record(db: Session, actor: Principal, *, data: TrackRecordCreate) -> TrackRecord:
    """Record a figure about a firm; the latest recorded value of a metric is the one judged."""
    actor.require(Permission.PARTNERS_LIFECYCLE)
    partner = _partner(db, actor, data.partner_id, "partner_id")
    now = clock.now()
    recorded_at = data.recorded_at or now
    if recorded_at > now:
        raise Invalid.field("recorded_at", "must not be in the future")
    if data.external_id is not None and db.scalar(
        select(TrackRecord.id).where(TrackRecord.external_id == data.external_id)
    ):
        raise Conflict(f"a track record with external_id {data.external_id} already exists")
    row = TrackRecord(
        id=new_id("trk"),
        partner_id=partner.id,
        metric=data.metric,
        value=data.value,
        recorded_at=recorded_at,
        source=data.source,
        external_id=data.external_id,
        created_at=now,
    )
    db.add(row)
    db.flush()
    events.append(
        db,
        actor,
        "track_record.recorded",
        row,
        partner_id=partner.id,
        metric=row.metric,
        value=row.value,
        recorded_at=row.recorded_at,
        source=row.source,
        external_id=row.external_id,
    )
    return row


def list_track_records(db: Session, actor: Principal, *, partner_id: str) -> list[TrackRecord]:
    """A firm's recorded figures, oldest first."""
    actor.require(Permission.PARTNERS_READ)
    partner = _partner(db, actor, partner_id)
    query = (
        select(TrackRecord)
        .where(TrackRecord.partner_id == partner.id)
        .order_by(TrackRecord.recorded_at, TrackRecord.id)
    )
    return list(db.scalars(query))


TRACK_RECORD_COLUMNS = Columns(
    required=("external_id", "partner_external_id", "metric", "value"),
    optional=("recorded_at", "source"),
)
_TRACK_RECORD: TypeAdapter[TrackRecordCreate] = TypeAdapter(TrackRecordCreate)


def import_track_records(
    db: Session,
    actor: Principal,
    *,
    source: Path | bytes,
    name: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import track-record figures from CSV: all rows checked first, re-imports skipped."""
    file, report, progress = open_import(
        actor,
        Permission.PARTNERS_LIFECYCLE,
        kind="track records",
        source=source,
        columns=TRACK_RECORD_COLUMNS,
        name=name,
        progress=progress,
    )
    errors = file.errors
    progress.phase(f"checking {len(file.rows):,} track records", len(file.rows))

    def key(row: CsvRow) -> str:
        return row.values["external_id"]

    duplicates_within(file.rows, key, "external_id", errors)
    existing = lookup(db, TrackRecord.external_id, (key(row) for row in file.rows))
    firms = lookup(
        db,
        Partner.external_id,
        (row.values["partner_external_id"] for row in file.rows),
        Partner.id,
    )
    now = clock.now()
    valid: list[tuple[TrackRecordCreate, str]] = []
    for row in file.rows:
        values = row.values
        firm = firms.get(values["partner_external_id"])
        if firm is None:
            errors.add(
                row.line, f"partner_external_id: no partner {values['partner_external_id']!r}"
            )
            continue
        try:
            data = _TRACK_RECORD.validate_python(
                {
                    "partner_id": firm[0],
                    "metric": values["metric"],
                    "value": values["value"],
                    "recorded_at": optional(values.get("recorded_at")),
                    "source": optional(values.get("source")),
                    "external_id": values["external_id"] or None,
                }
            )
        except ValidationError as error:
            errors.add(row.line, describe(error))
            continue
        if data.recorded_at is not None and data.recorded_at > now:
            errors.add(row.line, "recorded_at: must not be in the future")
            continue
        if errors.has(row.line):
            continue
        if data.external_id in existing:
            report.skipped.append((row.line, key(row)))
            continue
        valid.append((data, firm[0]))
        progress.advance(1)
    errors.raise_if_any(file.total)
    rows = []
    drafts = []
    for data, partner_id in valid:
        record_id = new_id("trk")
        recorded_at = data.recorded_at or now
        rows.append(
            {
                "id": record_id,
                "partner_id": partner_id,
                "metric": data.metric,
                "value": data.value,
                "recorded_at": recorded_at,
                "source": data.source,
                "external_id": data.external_id,
                "created_at": now,
            }
        )
        drafts.append(
            events.Draft(
                "track_record.recorded",
                "track_record",
                record_id,
                {
                    "metric": data.metric,
                    "value": data.value,
                    "recorded_at": recorded_at,
                    "source": data.source,
                    "external_id": data.external_id,
                },
                partner_id=partner_id,
            )
        )
    progress.phase(f"writing {len(rows):,} track records", len(rows))
    insert_batches(db, TrackRecord, rows, progress)
    report.created = len(rows)
    record_created(db, actor, drafts, report, progress)
    return report


# Reading firms' state: a few aggregate queries, for one firm or for all of them.


@dataclass(frozen=True, slots=True)
class _Firm:
    id: str
    name: str
    status: str
    missing_onboarding: tuple[str, ...]


def _active_award(now: datetime) -> Any:
    return and_(
        Award.status == AwardStatus.ACTIVE.value,
        Award.valid_until > now,
        Award.issued_at <= now,
        Award.person_id.is_not(None),
    )


def _firms(db: Session, partner_ids: Sequence[str] | None) -> list[_Firm]:
    query = select(Partner.id, Partner.name, Partner.status, Partner.onboarding)
    if partner_ids is not None:
        query = query.where(Partner.id.in_(partner_ids))
    return [
        _Firm(
            id,
            name,
            status,
            tuple(check.value for check in partner_rules.missing_onboarding_checks(onboarding)),
        )
        for id, name, status, onboarding in db.execute(query)
    ]


def _states(
    db: Session, firms: Sequence[_Firm], codes: set[str], now: datetime, *, scoped: bool
) -> dict[str, FirmState]:
    """Every firm's state at ``now``; ``scoped`` filters the queries to ``firms``."""
    ids = [firm.id for firm in firms]
    by_track: dict[str, dict[str, int]] = defaultdict(dict)
    by_code: dict[str, dict[str, int]] = defaultdict(dict)
    records: dict[str, dict[str, float]] = defaultdict(dict)
    people = func.count(Award.person_id.distinct())
    base = (
        select(Person.partner_id)
        .select_from(Award)
        .join(Person, Person.id == Award.person_id)
        .join(Certification, Certification.id == Award.certification_id)
        .where(_active_award(now), Person.partner_id.is_not(None))
    )
    parts: Iterable[Sequence[str] | None] = chunks(ids) if scoped else [None]
    for part in parts:
        scope = base if part is None else base.where(Person.partner_id.in_(part))
        track_query = scope.add_columns(Certification.track, people).group_by(
            Person.partner_id, Certification.track
        )
        for partner_id, track, count in db.execute(track_query):
            by_track[partner_id][track] = count
        if codes:
            code_query = (
                scope.add_columns(Certification.code, people)
                .where(Certification.code.in_(sorted(codes)))
                .group_by(Person.partner_id, Certification.code)
            )
            for partner_id, code, count in db.execute(code_query):
                by_code[partner_id][code] = count
        record_query = select(
            TrackRecord.partner_id, TrackRecord.metric, TrackRecord.value
        ).order_by(TrackRecord.recorded_at, TrackRecord.id)
        if part is not None:
            record_query = record_query.where(TrackRecord.partner_id.in_(part))
        for partner_id, metric, value in db.execute(record_query):
            records[partner_id][metric] = value  # later rows overwrite: the latest wins
    return {
        firm.id: FirmState(
            partner_id=firm.id,
            status=firm.status,
            missing_onboarding=firm.missing_onboarding,
            certified_by_track=by_track.get(firm.id, {}),
            certified_by_certification=by_code.get(firm.id, {}),
            track_record=records.get(firm.id, {}),
        )
        for firm in firms
    }


def firm_state(db: Session, *, partner_id: str, at: datetime | None = None) -> FirmState:
    """One firm's state (for tools and tests); :class:`NotFound` if unknown."""
    firms = _firms(db, [partner_id])
    if not firms:
        raise NotFound(f"partner {partner_id} not found")
    codes: set[str] = set()
    for found in schemes_in_force(db, at or clock.now()):
        codes |= found.scheme.certification_codes()
    return _states(db, firms, codes, at or clock.now(), scoped=True)[partner_id]


# Evaluation


def _standing(row: FirmTier | None) -> Standing:
    if row is None:
        return Standing()
    return Standing(
        tier=row.tier,
        since=row.since,
        at_risk_since=row.at_risk_since,
        grace_until=row.grace_until,
        missing=tuple(row.missing or ()),
    )


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
    firm: _Firm
    found: SchemeInForce
    before: Standing
    after: Standing
    changes: list[Change]


def _judge(
    found: SchemeInForce, firm: _Firm, row: FirmTier | None, state: FirmState, now: datetime
) -> _Pending | None:
    """Run the engine on one firm; ``None`` when nothing would change."""
    before = _standing(row)
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
    firms = _firms(db, [partner_id])
    if not firms or not schemes or firms[0].status == PartnerStatus.TERMINATED.value:
        return 0
    codes: set[str] = set()
    for found in schemes:
        codes |= found.scheme.certification_codes()
    state = _states(db, firms, codes, now, scoped=True)[partner_id]
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
    firms = [firm for firm in _firms(db, None) if firm.status != PartnerStatus.TERMINATED.value]
    codes: set[str] = set()
    for found in schemes:
        codes |= found.scheme.certification_codes()
    states = _states(db, firms, codes, now, scoped=False)
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


# Reading standings


def _tier_ref(tier: Tier | None) -> TierRef | None:
    return TierRef(key=tier.key, name=tier.name, rank=tier.rank) if tier else None


def firm_tiers(db: Session, actor: Principal, *, partner_id: str) -> list[FirmTierOut]:
    """A firm's standing in every program, with what the next tier up needs."""
    actor.require(Permission.PARTNERS_READ)
    partner = _partner(db, actor, partner_id)
    now = clock.now()
    rows = {
        row.program: row
        for row in db.scalars(select(FirmTier).where(FirmTier.partner_id == partner.id))
    }
    schemes = schemes_in_force(db, now)
    codes: set[str] = set()
    for found in schemes:
        codes |= found.scheme.certification_codes()
    firms = _firms(db, [partner.id])
    state = _states(db, firms, codes, now, scoped=True)[partner.id]
    settings = None

    settings = settings_of(db)
    result = []
    for found in schemes:
        row = rows.get(found.program)
        standing = _standing(row)
        evaluation = rules.evaluate(found.scheme, state)
        held = found.scheme.get(standing.tier)
        result.append(
            FirmTierOut(
                partner_id=partner.id,
                program=found.program,
                scheme_version=found.version,
                tier=_tier_ref(held),
                since=standing.since,
                at_risk=standing.at_risk_since is not None,
                at_risk_since=standing.at_risk_since,
                grace_until=standing.grace_until,
                missing=list(standing.missing),
                qualified=_tier_ref(evaluation.qualified),
                next_tier=_tier_ref(evaluation.next_tier),
                next_tier_missing=evaluation.missing,
                benefits=held.benefits if held else None,
                badge_id=row.badge_id if row else None,
                badge_url=badges.badge_url(settings, row.badge_id)
                if row and row.badge_id
                else None,
                evaluated_at=row.evaluated_at if row else None,
            )
        )
    return result


def list_standings(
    db: Session,
    actor: Principal,
    *,
    program: str | None = None,
    tier: str | None = None,
    at_risk: bool | None = None,
) -> list[FirmTier]:
    """Firms' stored standings (partner users: their own firm's)."""
    actor.require(Permission.PARTNERS_READ)
    query = select(FirmTier).order_by(FirmTier.partner_id, FirmTier.program)
    if actor.partner_scope is not None:
        query = query.where(FirmTier.partner_id == actor.partner_scope)
    if program is not None:
        query = query.where(FirmTier.program == program)
    if tier is not None:
        query = query.where(FirmTier.tier == tier)
    if at_risk is True:
        query = query.where(FirmTier.at_risk_since.is_not(None))
    elif at_risk is False:
        query = query.where(FirmTier.at_risk_since.is_(None))
    return list(db.scalars(query))


# Forecast


@dataclass(frozen=True, slots=True)
class _Holding:
    person_id: str
    name: str
    award_id: str
    code: str
    track: str
    valid_until: datetime
    renewal_window_days: int


def _holdings(db: Session, partner_ids: Sequence[str], now: datetime) -> dict[str, list[_Holding]]:
    found: dict[str, list[_Holding]] = defaultdict(list)
    for part in chunks(list(partner_ids)):
        query = (
            select(
                Person.partner_id,
                Person.id,
                Person.given_name,
                Person.family_name,
                Award.id,
                Certification.code,
                Certification.track,
                Award.valid_until,
                Certification.renewal_window_days,
            )
            .join(Person, Person.id == Award.person_id)
            .join(Certification, Certification.id == Award.certification_id)
            .where(_active_award(now), Person.partner_id.in_(part))
        )
        for (
            partner_id,
            person_id,
            given,
            family,
            award_id,
            code,
            track,
            until,
            window,
        ) in db.execute(query):
            found[str(partner_id)].append(
                _Holding(
                    person_id,
                    f"{given} {family}".strip(),
                    award_id,
                    code,
                    track,
                    clock.ensure_utc(until),
                    window,
                )
            )
    return found


def _state_at(base: FirmState, holdings: Sequence[_Holding], at: datetime) -> FirmState:
    live = [(h.person_id, h.track, h.code) for h in holdings if h.valid_until > at]
    by_track, by_code = rules.certified_counts(live)
    return replace(base, certified_by_track=by_track, certified_by_certification=by_code)


def _savers(
    tier: Tier, state: FirmState, holdings: Sequence[_Holding], now: datetime, until: datetime
) -> list[_Holding]:
    needs = tier.requirements
    short_tracks = {
        track.value
        for track, wanted in needs.min_certified_by_track.items()
        if state.certified_by_track.get(track.value, 0) < wanted
    }
    short_codes = {
        code
        for code, wanted in needs.min_certified_by_certification.items()
        if state.certified_by_certification.get(code, 0) < wanted
    } | {
        code
        for code in needs.required_certifications
        if not state.certified_by_certification.get(code)
    }
    return sorted(
        (
            h
            for h in holdings
            if now < h.valid_until <= until and (h.track in short_tracks or h.code in short_codes)
        ),
        key=lambda h: (h.valid_until, h.name, h.award_id),
    )


def forecast(
    db: Session, actor: Principal, *, days: int, partner_id: str | None = None
) -> list[ForecastItem]:
    """Firms meeting their tier now that fall below it within ``days`` unless people renew.

    Awards are taken to lapse at ``valid_until`` (a renewal already made has moved it on);
    for each such firm, the people whose expiring awards the unmet requirements count on are
    named, earliest expiry first, with the day their renewal window opens.
    """
    actor.require(Permission.PARTNERS_READ)
    if days not in FORECAST_HORIZONS:
        raise Invalid.field("days", f"must be one of {', '.join(map(str, FORECAST_HORIZONS))}")
    scope = actor.partner_scope
    if partner_id is not None:
        scope_firm = _partner(db, actor, partner_id)
        scope = scope_firm.id
    now = clock.now()
    until = now + timedelta(days=days)
    schemes = {found.program: found for found in schemes_in_force(db, now)}
    query = select(FirmTier).where(FirmTier.tier.is_not(None), FirmTier.at_risk_since.is_(None))
    if scope is not None:
        query = query.where(FirmTier.partner_id == scope)
    rows = [row for row in db.scalars(query) if row.program in schemes]
    ids = sorted({row.partner_id for row in rows})
    firms = {firm.id: firm for firm in _firms(db, ids)} if ids else {}
    codes: set[str] = set()
    for found in schemes.values():
        codes |= found.scheme.certification_codes()
    states = _states(db, list(firms.values()), codes, now, scoped=True) if firms else {}
    holdings = _holdings(db, ids, now) if ids else {}
    items = []
    for row in sorted(rows, key=lambda r: (firms[r.partner_id].name, r.program)):
        found = schemes[row.program]
        tier = found.scheme.get(row.tier)
        if tier is None or row.partner_id not in states:
            continue
        base = states[row.partner_id]
        held = holdings.get(row.partner_id, [])
        if rules.unmet(tier, _state_at(base, held, now)):
            continue  # below it already: the firm's standing says so
        expiries = sorted({h.valid_until for h in held if now < h.valid_until <= until})
        for moment in expiries:
            later = _state_at(base, held, moment)
            missing = rules.unmet(tier, later)
            if missing:
                end_state = _state_at(base, held, until)
                savers = _savers(tier, end_state, held, now, until)
                items.append(
                    ForecastItem(
                        partner_id=row.partner_id,
                        partner_name=firms[row.partner_id].name,
                        program=row.program,
                        tier=TierRef(key=tier.key, name=tier.name, rank=tier.rank),
                        days=days,
                        falls_below_on=moment,
                        missing=rules.unmet(tier, end_state),
                        renewals=[
                            RenewalCandidate(
                                person_id=h.person_id,
                                name=h.name,
                                award_id=h.award_id,
                                certification_code=h.code,
                                track=h.track,
                                valid_until=h.valid_until,
                                renewal_opens=h.valid_until - timedelta(days=h.renewal_window_days),
                            )
                            for h in savers
                        ],
                    )
                )
                break
    return items
