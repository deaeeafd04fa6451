"""Reports on people's certifications: headcount, time to certify, renewals, expiries, criteria.

Each function is one report; every figure is counted by the database (``GROUP BY``, and
``ROW_NUMBER``/``COUNT`` windows for quartiles, which SQLite and PostgreSQL both have).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from charter.core.i18n import N_
from charter.core.models import Event
from charter.credentials.enums import AwardStatus, SubjectType
from charter.credentials.models import Award
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.partners.models import PartnerRegion, Person
from charter.programs.models import Assessment, Certification, CriteriaVersion
from charter.reports import sql
from charter.reports.models import HeadcountBreakdown, HeadcountMonth
from charter.reports.schemas import Cell, ColumnKind, ReportOut, days, make_table, percent
from charter.tiers.schemes import schemes_in_force

TEXT, COUNT, NUMBER, PERCENT, DATE = (
    ColumnKind.TEXT,
    ColumnKind.COUNT,
    ColumnKind.NUMBER,
    ColumnKind.PERCENT,
    ColumnKind.DATE,
)
NO_TIER = N_("no tier")
NO_REGION = N_("no region")
EXPIRY_DAYS = 90
WEEK = 7
LIVE_BY_INDEX = (AwardStatus.ACTIVE.value, AwardStatus.SUSPENDED.value)
"""The statuses of the partial index of live awards by end date; a query naming them (beside
its own narrower condition) lets the database use that index."""
ENDED_BY_STATUS = (AwardStatus.REVOKED.value, AwardStatus.SUSPENDED.value)
HEADCOUNT_MONTHS = 36
"""The months the worker keeps counted: as far back as the report reaches."""
HEADCOUNT_FRESH = timedelta(hours=1)
"""How old the worker's count of the month under way may be when the report shows it."""
TIER_CHANGES = ("tier.upgraded", "tier.downgraded")
"""The events that set a firm's tier (a first tier is an upgrade from none)."""


def live_at(at: SQLColumnExpression[datetime]) -> ColumnElement[bool]:
    """An award that held at ``at``: issued before, valid after, not revoked or suspended by then.

    A renewal moves ``valid_until`` on, so a renewed award counts through its whole run.
    """
    return and_(
        Award.issued_at <= at,
        Award.valid_until > at,
        or_(
            Award.status.not_in(ENDED_BY_STATUS),
            Award.status_changed_at.is_(None),
            Award.status_changed_at > at,
        ),
    )


def _tier_names(db: Session, now: datetime) -> dict[str, str]:
    return {
        tier.key: tier.name for found in schemes_in_force(db, now) for tier in found.scheme.tiers
    }


Headcount = tuple[dict[str, int], list[tuple[str, str, str, str, int]]]
"""People per month label, and per ``(month, tier key, region, track, people)``."""


def _count_headcounts(db: Session, points: Sequence[tuple[str, datetime]]) -> Headcount:
    """People holding a live award at each ``(label, instant)``, and the breakdown at firms.

    The breakdown counts people at a firm now, under the tier the firm held then (its latest
    tier change by then in the events log), each region it operates in (a firm in two regions
    counts in both), and the person's track.
    """
    if not points:
        return {}, []
    series = sql.series(points, "months")
    holds = live_at(series.c.at)
    people = func.count(Award.person_id.distinct())
    totals_query = (
        select(series.c.label, people)
        .select_from(series)
        .outerjoin(Award, and_(holds, Award.subject_type == SubjectType.PERSON.value))
        .group_by(series.c.label)
    )
    totals = {label: int(count) for label, count in db.execute(totals_query)}
    # The firm's tier at each month's end: its latest tier change by then, from the log.
    changes = (
        select(
            series.c.label.label("label"),
            Event.partner_id.label("partner_id"),
            Event.payload["to_tier"].as_string().label("tier"),
            func.row_number()
            .over(partition_by=(series.c.label, Event.partner_id), order_by=Event.seq.desc())
            .label("latest"),
        )
        .select_from(series)
        .join(Event, and_(Event.type.in_(TIER_CHANGES), Event.occurred_at <= series.c.at))
        .subquery("changes")
    )
    tier = func.coalesce(changes.c.tier, literal(NO_TIER))
    region = func.coalesce(PartnerRegion.region, literal(NO_REGION))
    breakdown_query = (
        select(series.c.label, tier, region, Person.track, people)
        .select_from(series)
        .join(Award, holds)
        .join(Person, Person.id == Award.person_id)
        .outerjoin(PartnerRegion, PartnerRegion.partner_id == Person.partner_id)
        .outerjoin(
            changes,
            and_(
                changes.c.label == series.c.label,
                changes.c.partner_id == Person.partner_id,
                changes.c.latest == 1,
            ),
        )
        .where(Person.partner_id.is_not(None))
        .group_by(series.c.label, tier, region, Person.track)
    )
    breakdown = [
        (label, key, area, track, int(n))
        for label, key, area, track, n in db.execute(breakdown_query)
    ]
    return totals, breakdown


def _month_points(now: datetime, months: int) -> list[tuple[str, datetime]]:
    """``(YYYY-MM, instant)`` of the last ``months`` months: each one's end, and now for the
    month under way."""
    return [
        (f"{start:%Y-%m}", min(sql.next_month(start), now))
        for start in sql.month_starts(now, months)
    ]


def count_headcounts(db: Session, *, now: datetime, months: int = HEADCOUNT_MONTHS) -> int:
    """Store the certified headcount of the month under way (counted now) and of every closed
    month of the last ``months`` not yet counted at its end; the number of months counted.

    The worker runs this hourly. A closed month is counted once, at its last instant, and is
    kept as history from then on.
    """
    points = _month_points(now, months)
    stored = dict(
        db.execute(
            select(HeadcountMonth.month, HeadcountMonth.at).where(
                HeadcountMonth.month.in_([label for label, _ in points])
            )
        ).all()
    )
    due = [(label, at) for label, at in points if at == now or stored.get(label) != at]
    totals, breakdown = _count_headcounts(db, due)
    labels = [label for label, _ in due]
    db.execute(delete(HeadcountBreakdown).where(HeadcountBreakdown.month.in_(labels)))
    db.execute(delete(HeadcountMonth).where(HeadcountMonth.month.in_(labels)))
    db.flush()
    db.add_all(HeadcountMonth(month=label, at=at, people=totals.get(label, 0)) for label, at in due)
    db.flush()
    db.add_all(
        HeadcountBreakdown(month=label, tier=key, region=area, track=track, people=n)
        for label, key, area, track, n in breakdown
    )
    db.flush()
    return len(due)


def _fresh(age: timedelta) -> bool:
    """Whether a count of the month under way this old is shown as it."""
    return timedelta(0) <= age <= HEADCOUNT_FRESH


def _stored_headcounts(
    db: Session, points: Sequence[tuple[str, datetime]], now: datetime
) -> tuple[dict[str, datetime], Headcount]:
    """The months of ``points`` counted as the report shows them: each closed month counted at
    its end, the month under way counted within the last hour (when each was counted, and the
    figures)."""
    wanted = dict(points)
    usable: dict[str, datetime] = {}
    totals: dict[str, int] = {}
    for month, at, people in db.execute(
        select(HeadcountMonth.month, HeadcountMonth.at, HeadcountMonth.people).where(
            HeadcountMonth.month.in_(list(wanted))
        )
    ):
        if at == wanted[month] or (wanted[month] == now and _fresh(now - at)):
            usable[month], totals[month] = at, int(people)
    if not usable:
        return {}, ({}, [])
    breakdown = [
        (month, tier, region, track, int(people))
        for month, tier, region, track, people in db.execute(
            select(
                HeadcountBreakdown.month,
                HeadcountBreakdown.tier,
                HeadcountBreakdown.region,
                HeadcountBreakdown.track,
                HeadcountBreakdown.people,
            ).where(HeadcountBreakdown.month.in_(list(usable)))
        )
    ]
    return usable, (totals, breakdown)


def certified_headcount(db: Session, *, now: datetime, months: int = 12) -> ReportOut:
    """People holding a live award at each month's end, and by firm tier, region and track.

    A closed month's figure is taken at its last instant, as the worker counted it then; the
    month under way is counted now, or taken from the worker's count of the last hour. Months
    the worker has not counted are counted here (see :func:`_count_headcounts`).
    """
    points = _month_points(now, months)
    counted_at, (totals, breakdown) = _stored_headcounts(db, points, now)
    missing = [(label, at) for label, at in points if label not in counted_at]
    live_totals, live_breakdown = _count_headcounts(db, missing)
    totals = {**totals, **live_totals}
    counted_at.update(missing)
    names = _tier_names(db, now)
    lists = taxonomy.read(db)
    regions = lists.labels(TaxonomyKind.REGION)
    tracks = lists.labels(TaxonomyKind.TRACK)
    total_rows: list[dict[str, Cell]] = [
        {
            "month": label,
            "as_at": f"{counted_at[label]:%Y-%m-%d %H:%M} UTC",
            "people": totals.get(label, 0),
        }
        for label, _ in points
    ]
    breakdown_rows: list[dict[str, Cell]] = [
        {
            "month": label,
            "tier": names.get(key, key),
            "region": regions.get(area, area),
            "track": tracks.get(track, track),
            "people": n,
        }
        for label, key, area, track, n in sorted(breakdown + live_breakdown)
    ]
    return ReportOut(
        name="certified-headcount",
        title=N_("Certified headcount"),
        description=N_(
            "People holding at least one live award at the end of each month, as counted then "
            "(the month under way: as counted within the last hour). The breakdown counts "
            "people working at a firm, by the tier the firm held at that month's end, each "
            "region it operates in, and the person's track."
        ),
        generated_at=now,
        parameters={"months": str(months)},
        tables=[
            make_table(
                "totals",
                N_("Certified people at each month's end"),
                [
                    ("month", N_("Month"), TEXT),
                    ("as_at", N_("As at"), TEXT),
                    ("people", N_("Certified people"), COUNT),
                ],
                total_rows,
            ),
            make_table(
                "breakdown",
                N_("Certified people by tier, region and track"),
                [
                    ("month", N_("Month"), TEXT),
                    ("tier", N_("Firm tier"), TEXT),
                    ("region", N_("Region"), TEXT),
                    ("track", N_("Track"), TEXT),
                    ("people", N_("Certified people"), COUNT),
                ],
                breakdown_rows,
            ),
        ],
    )


def time_to_certify(db: Session, *, now: datetime) -> ReportOut:
    """Days from a person's first assessment to their award, per certification: quartiles.

    The first assessment is the person's earliest recorded one before the award was issued.
    Quartiles are nearest-rank: with ``n`` awards sorted by days, the first quartile is the
    ``ceil(n/4)``-th, the median the ``ceil(n/2)``-th, the third quartile the ``ceil(3n/4)``-th.
    """
    first = (
        select(
            Award.certification_id.label("certification_id"),
            sql.days_between(db, Award.issued_at, func.min(Assessment.occurred_at)).label("days"),
        )
        .join(
            Assessment,
            and_(
                Assessment.person_id == Award.person_id, Assessment.occurred_at <= Award.issued_at
            ),
        )
        .where(Award.subject_type == SubjectType.PERSON.value)
        .group_by(Award.id, Award.certification_id, Award.issued_at)
        .subquery("first")
    )
    ranked = select(
        first.c.certification_id,
        first.c.days,
        func.row_number()
        .over(partition_by=first.c.certification_id, order_by=first.c.days)
        .label("rank"),
        func.count().over(partition_by=first.c.certification_id).label("n"),
    ).subquery("ranked")

    def at_rank(position: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.max(case((ranked.c.rank == position, ranked.c.days)))

    n = ranked.c.n
    query = (
        select(
            Certification.code,
            Certification.name,
            func.max(n),
            func.min(ranked.c.days),
            at_rank((n + 3) // 4),
            at_rank((n + 1) // 2),
            at_rank((3 * n + 3) // 4),
            func.max(ranked.c.days),
        )
        .join(ranked, ranked.c.certification_id == Certification.id)
        .group_by(Certification.id, Certification.code, Certification.name)
        .order_by(Certification.code)
    )
    rows: list[dict[str, Cell]] = [
        {
            "code": code,
            "name": name,
            "awards": count,
            "min_days": days(low),
            "q1_days": days(q1),
            "median_days": days(median),
            "q3_days": days(q3),
            "max_days": days(high),
        }
        for code, name, count, low, q1, median, q3, high in db.execute(query)
    ]
    return ReportOut(
        name="time-to-certify",
        title=N_("Time to certify"),
        description=N_(
            "Days from a person's first recorded assessment to the award, per certification: "
            "the median and the spread between the first and third quartiles (nearest rank)."
        ),
        generated_at=now,
        parameters={},
        tables=[
            make_table(
                "certifications",
                N_("Days from first assessment to award"),
                [
                    ("code", N_("Certification"), TEXT),
                    ("name", N_("Name"), TEXT),
                    ("awards", N_("Awards"), COUNT),
                    ("min_days", N_("Fastest"), NUMBER),
                    ("q1_days", N_("First quartile"), NUMBER),
                    ("median_days", N_("Median"), NUMBER),
                    ("q3_days", N_("Third quartile"), NUMBER),
                    ("max_days", N_("Slowest"), NUMBER),
                ],
                rows,
            )
        ],
    )


def renewals(db: Session, *, now: datetime) -> ReportOut:
    """Per certification: validity periods that came to an end, and how many were renewed.

    A renewal is counted once per renewal made (an award renewed twice counts twice); a lapse
    is an award whose validity ended without renewal (expired, or active past its end).
    Revoked and suspended awards neither renew nor lapse. Each figure is read from an index:
    renewed awards, expired ones, and live ones past their end.
    """
    renewed = dict(
        db.execute(
            select(Award.certification_id, func.sum(Award.renewal_count))
            .where(Award.renewal_count > 0)
            .group_by(Award.certification_id)
        ).all()
    )
    lapses: Counter[str] = Counter()
    for query in (
        select(Award.certification_id, func.count())
        .where(Award.status == AwardStatus.EXPIRED.value)
        .group_by(Award.certification_id),
        select(Award.certification_id, func.count())
        .where(
            Award.status.in_(LIVE_BY_INDEX),
            Award.status == AwardStatus.ACTIVE.value,
            Award.valid_until <= sql.instant(now),
        )
        .group_by(Award.certification_id),
    ):
        lapses.update({certification_id: int(n) for certification_id, n in db.execute(query)})
    rows: list[dict[str, Cell]] = []
    for certification_id, code, name in db.execute(
        select(Certification.id, Certification.code, Certification.name).order_by(
            Certification.code
        )
    ):
        renewals_made = int(renewed.get(certification_id) or 0)
        lapsed = lapses[certification_id]
        due = renewals_made + lapsed
        rows.append(
            {
                "code": code,
                "name": name,
                "came_due": due,
                "renewed": renewals_made,
                "lapsed": lapsed,
                "renewal_rate": percent(renewals_made, due),
                "lapse_rate": percent(lapsed, due),
            }
        )
    return ReportOut(
        name="renewals",
        title=N_("Renewal and lapse rates"),
        description=N_(
            "Per certification: validity periods that came due (renewed plus lapsed), "
            "renewals made, awards that lapsed without renewal, and the rates of each."
        ),
        generated_at=now,
        parameters={},
        tables=[
            make_table(
                "certifications",
                N_("Renewals and lapses per certification"),
                [
                    ("code", N_("Certification"), TEXT),
                    ("name", N_("Name"), TEXT),
                    ("came_due", N_("Came due"), COUNT),
                    ("renewed", N_("Renewed"), COUNT),
                    ("lapsed", N_("Lapsed"), COUNT),
                    ("renewal_rate", N_("Renewal rate"), PERCENT),
                    ("lapse_rate", N_("Lapse rate"), PERCENT),
                ],
                rows,
            )
        ],
    )


def expiry_timeline(db: Session, *, now: datetime) -> ReportOut:
    """Active awards ending within the next 90 days, in weeks counted from now.

    Each week's awards are one range of the index of live awards by end date, counted per
    certification; the weeks' totals are the sums of those counts.
    """
    until = now + timedelta(days=EXPIRY_DAYS)
    bounds = []
    for index in range((EXPIRY_DAYS + WEEK - 1) // WEEK):
        starts = now + timedelta(days=WEEK * index)
        bounds.append((index, starts, min(starts + timedelta(days=WEEK), until)))
    weeks_table = sql.spans(bounds, "weeks")
    per_certification = (
        select(
            weeks_table.c.n.label("n"),
            Award.certification_id.label("certification_id"),
            func.count().label("awards"),
        )
        .select_from(weeks_table)
        .join(
            Award,
            and_(
                Award.valid_until > weeks_table.c.after,
                Award.valid_until <= weeks_table.c.until,
                Award.status.in_(LIVE_BY_INDEX),
                Award.status == AwardStatus.ACTIVE.value,
            ),
        )
        .group_by(weeks_table.c.n, Award.certification_id)
        .subquery("counted")
    )
    by_certification = (
        select(per_certification.c.n, Certification.code, per_certification.c.awards)
        .join(Certification, Certification.id == per_certification.c.certification_id)
        .order_by(per_certification.c.n, Certification.code)
    )
    counted: Counter[int] = Counter()
    breakdown: list[dict[str, Cell]] = []
    for index, code, count in db.execute(by_certification):
        counted[int(index)] += int(count)
        breakdown.append({"week": int(index) + 1, "code": code, "awards": int(count)})
    weeks: list[dict[str, Cell]] = [
        {
            "week": index + 1,
            "starts": starts.date().isoformat(),
            "ends": ends.date().isoformat(),
            "awards": counted[index],
        }
        for index, starts, ends in bounds
    ]
    return ReportOut(
        name="expiry-timeline",
        title=N_("Expiry timeline"),
        description=N_(
            "Active awards whose validity ends within the next 90 days, by week from now "
            "(the last week is shorter), and per certification."
        ),
        generated_at=now,
        parameters={"days": str(EXPIRY_DAYS)},
        tables=[
            make_table(
                "weeks",
                N_("Awards expiring each week"),
                [
                    ("week", N_("Week"), COUNT),
                    ("starts", N_("From"), DATE),
                    ("ends", N_("To"), DATE),
                    ("awards", N_("Awards expiring"), COUNT),
                ],
                weeks,
            ),
            make_table(
                "certifications",
                N_("Awards expiring each week, per certification"),
                [
                    ("week", N_("Week"), COUNT),
                    ("code", N_("Certification"), TEXT),
                    ("awards", N_("Awards expiring"), COUNT),
                ],
                breakdown,
            ),
        ],
    )


def criteria_impact(db: Session, *, now: datetime) -> ReportOut:
    """Per criteria version after the first: people it affected, and awards issued under it.

    Affected are the people holding a live award of the certification, issued under an earlier
    version, when the new version came into force: their next renewal meets the new criteria.
    """
    earlier = aliased(CriteriaVersion)
    affected = (
        select(func.count(Award.person_id.distinct()))
        .join(earlier, earlier.id == Award.criteria_version_id)
        .where(
            Award.certification_id == CriteriaVersion.certification_id,
            earlier.version < CriteriaVersion.version,
            live_at(CriteriaVersion.effective_from),
        )
        .correlate(CriteriaVersion)
        .scalar_subquery()
    )
    issued = (
        select(func.count(Award.id))
        .where(Award.criteria_version_id == CriteriaVersion.id)
        .correlate(CriteriaVersion)
        .scalar_subquery()
    )
    query = (
        select(
            Certification.code,
            CriteriaVersion.version,
            CriteriaVersion.effective_from,
            affected,
            issued,
        )
        .join(Certification, Certification.id == CriteriaVersion.certification_id)
        .where(CriteriaVersion.version > 1)
        .order_by(Certification.code, CriteriaVersion.version)
    )
    rows: list[dict[str, Cell]] = [
        {
            "code": code,
            "version": version,
            "effective_from": effective.date().isoformat(),
            "in_force": N_("yes") if effective <= now else N_("not yet"),
            "people_affected": people,
            "awarded_under": awarded,
        }
        for code, version, effective, people, awarded in db.execute(query)
    ]
    return ReportOut(
        name="criteria-impact",
        title=N_("Criteria change impact"),
        description=N_(
            "For each new criteria version: the people who held a live award of the "
            "certification under an earlier version when it came into force, and the awards "
            "issued under the new version since."
        ),
        generated_at=now,
        parameters={},
        tables=[
            make_table(
                "versions",
                N_("People affected per criteria version"),
                [
                    ("code", N_("Certification"), TEXT),
                    ("version", N_("Version"), COUNT),
                    ("effective_from", N_("In force from"), DATE),
                    ("in_force", N_("In force"), TEXT),
                    ("people_affected", N_("People affected"), COUNT),
                    ("awarded_under", N_("Awarded under it"), COUNT),
                ],
                rows,
            )
        ],
    )
