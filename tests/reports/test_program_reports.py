"""Each program report's figures against values worked out by hand from tests/reports/world.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from charter.reports import certification, service
from charter.reports.models import HeadcountMonth
from charter.worker import registry
from tests.reports.world import build


@pytest.fixture
def world(db, system, frozen_clock):
    return build(db, system, frozen_clock)


def _rows(db, system, name, table=None, **options):
    report = service.run_report(db, system, name=name, **options)
    return (report.table(table) if table else report.tables[0]).rows


def test_certified_headcount_each_month_and_by_tier_region_and_track(db, system, world):
    totals = _rows(db, system, "certified-headcount", months=5)
    # Each closed month as at its end; the month under way as at now (2026-07-20 12:00).
    assert totals == [
        {"month": "2026-03", "as_at": "2026-04-01 00:00 UTC", "people": 4},  # Ada, Bo, Cy, Di
        {"month": "2026-04", "as_at": "2026-05-01 00:00 UTC", "people": 3},  # Bo revoked
        {"month": "2026-05", "as_at": "2026-06-01 00:00 UTC", "people": 3},
        # Cy's SELL lapsed, but Cy holds ARCH
        {"month": "2026-06", "as_at": "2026-07-01 00:00 UTC", "people": 3},
        {"month": "2026-07", "as_at": "2026-07-20 12:00 UTC", "people": 4},  # Ed
    ]
    breakdown = _rows(db, system, "certified-headcount", "breakdown", months=5)
    march = [row for row in breakdown if row["month"] == "2026-03"]
    # The tier each firm held at the month's end: North Gold until June, South Gold from July;
    # regions and tracks by the labels the program gives them.
    assert march == [
        {"month": "2026-03", "tier": "Gold", "region": "EMEA", "track": "Technical", "people": 2},
        {
            "month": "2026-03",
            "tier": "Registered",
            "region": "North America",
            "track": "Sales",
            "people": 1,
        },
        {
            "month": "2026-03",
            "tier": "Registered",
            "region": "North America",
            "track": "Technical",
            "people": 1,
        },
    ]

    def month(label):
        return {
            (r["tier"], r["region"], r["track"]): r["people"]
            for r in breakdown
            if r["month"] == label
        }

    assert month("2026-05") == {
        ("Gold", "EMEA", "Technical"): 1,  # North, at risk but still Gold; Bo revoked
        ("Registered", "North America", "Sales"): 1,
        ("Registered", "North America", "Technical"): 1,
    }
    assert month("2026-06") == {
        ("Registered", "EMEA", "Technical"): 1,
        ("Registered", "North America", "Sales"): 1,
        ("Registered", "North America", "Technical"): 1,
    }
    assert month("2026-07") == {
        ("Registered", "EMEA", "Technical"): 1,
        ("Gold", "North America", "Sales"): 1,
        ("Gold", "North America", "Technical"): 2,
    }


def test_headcount_months_the_worker_counted_are_shown_as_counted(db, system, world, frozen_clock):
    before = service.run_report(db, system, name="certified-headcount", months=5)
    assert certification.count_headcounts(db, now=frozen_clock.now()) == 36
    # Counted again an hour on: only the month under way; the closed months are kept.
    assert certification.count_headcounts(db, now=frozen_clock.now()) == 1
    stored = service.run_report(db, system, name="certified-headcount", months=5)
    assert [t.rows for t in stored.tables] == [t.rows for t in before.tables]

    # The report reads what was counted, not the awards: a closed month's history stays as
    # counted (here, a count changed by hand shows).
    db.execute(update(HeadcountMonth).where(HeadcountMonth.month == "2026-04").values(people=99))
    april = _rows(db, system, "certified-headcount", months=5)[1]
    assert april == {"month": "2026-04", "as_at": "2026-05-01 00:00 UTC", "people": 99}

    # The month under way is shown as counted within the last hour, then counted live again.
    frozen_clock.advance(timedelta(minutes=50))
    july = _rows(db, system, "certified-headcount", months=5)[-1]
    assert july["as_at"] == "2026-07-20 12:00 UTC"
    frozen_clock.advance(timedelta(minutes=20))
    july = _rows(db, system, "certified-headcount", months=5)[-1]
    assert july == {"month": "2026-07", "as_at": "2026-07-20 13:10 UTC", "people": 4}
    # A month counted before it closed is counted again at its end.
    frozen_clock.advance(datetime(2026, 8, 2, tzinfo=UTC) - frozen_clock.now())
    assert certification.count_headcounts(db, now=frozen_clock.now()) == 2
    months = {m.month: m.at for m in db.scalars(select(HeadcountMonth))}
    assert months["2026-07"] == datetime(2026, 8, 1, tzinfo=UTC)
    assert "reports.count_headcounts" in [task.name for task in registry.periodic_tasks()]


def test_time_to_certify_gives_median_and_quartiles_per_certification(db, system, world):
    rows = {row["code"]: row for row in _rows(db, system, "time-to-certify")}
    # ARCH: Ada 1, Bo 10, Cy 5, Ed 1 day -> sorted 1, 1, 5, 10 (nearest rank).
    assert rows["ARCH"] | {"name": None} == {
        "code": "ARCH",
        "name": None,
        "awards": 4,
        "min_days": 1.0,
        "q1_days": 1.0,
        "median_days": 1.0,
        "q3_days": 5.0,
        "max_days": 10.0,
    }
    # SELL: Cy 5 days, Di 4 days.
    assert (rows["SELL"]["awards"], rows["SELL"]["q1_days"], rows["SELL"]["median_days"]) == (
        2,
        4.0,
        4.0,
    )
    assert (rows["SELL"]["q3_days"], rows["SELL"]["max_days"]) == (5.0, 5.0)


def test_renewal_and_lapse_rates(db, system, world):
    rows = {row["code"]: row for row in _rows(db, system, "renewals")}
    assert rows["SELL"] | {"name": None} == {
        "code": "SELL",
        "name": None,
        "came_due": 2,
        "renewed": 1,
        "lapsed": 1,
        "renewal_rate": 50.0,
        "lapse_rate": 50.0,
    }
    assert (rows["ARCH"]["came_due"], rows["ARCH"]["renewal_rate"]) == (0, None)


def test_expiry_timeline_in_weeks(db, system, world):
    weeks = _rows(db, system, "expiry-timeline")
    assert len(weeks) == 13
    # Di's renewed SELL ends on Sep 27 12:00: 69 days from Jul 20 12:00, in week 10.
    assert [row["awards"] for row in weeks] == [0] * 9 + [1] + [0] * 3
    assert weeks[9]["starts"] == "2026-09-21"
    assert weeks[0]["starts"] == "2026-07-20"
    assert weeks[-1]["ends"] == "2026-10-18"
    detail = _rows(db, system, "expiry-timeline", "certifications")
    assert detail == [{"week": 10, "code": "SELL", "awards": 1}]


def test_tier_movements_per_month_from_the_events_log(db, system, world):
    rows = {row["month"]: row for row in _rows(db, system, "tier-movements", months=5)}
    assert list(rows) == ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]

    def moved(month):
        row = rows[month]
        return (row["upgraded"], row["downgraded"], row["at_risk"], row["recovered"])

    assert moved("2026-03") == (2, 0, 0, 0)
    assert moved("2026-04") == (0, 0, 1, 0)
    assert moved("2026-05") == (0, 0, 0, 0)
    assert moved("2026-06") == (0, 1, 0, 0)
    assert moved("2026-07") == (1, 0, 0, 0)


def test_criteria_change_impact(db, system, world):
    assert _rows(db, system, "criteria-impact") == [
        {
            "code": "ARCH",
            "version": 2,
            "effective_from": "2026-07-01",
            "in_force": "yes",
            "people_affected": 2,  # Ada and Cy held ARCH v1 on Jul 1; Bo's was revoked
            "awarded_under": 1,  # Ed
        }
    ]


def test_firms_at_risk_now_and_falling_below(db, system, frozen_clock):
    world = build(db, system, frozen_clock)
    # By July North was moved down and South holds Gold with two engineers till 2027.
    assert _rows(db, system, "firms-at-risk", "firms") == []
    assert world.north.id


def test_firms_at_risk_names_the_renewals_that_save_a_firm(db, system, world, frozen_clock):
    from datetime import timedelta

    from charter.tiers import service as tiers
    from tests.codes import Region
    from tests.credentials.factories import award
    from tests.partners.factories import partner, person
    from tests.programs.factories import certification

    # At the world's end nobody is at risk: North was moved down, South holds Gold till 2027.
    assert _rows(db, system, "firms-at-risk", "firms") == []
    # East reaches Gold with two engineers whose 60-day LAB badges both end on Sep 18.
    east = partner(db, system, status="active", name="East Labs", regions=[Region.APAC])
    lab = certification(db, system, code="LAB", validity_days=60)
    for given in ("Fay", "Gus"):
        someone = person(db, system, partner_id=east.id, given_name=given, family_name="East")
        award(db, system, person_id=someone.id, certification_id=lab.id)
    tiers.sweep(db, system)
    db.commit()
    assert _rows(db, system, "firms-at-risk", "firms", days=30) == []
    [row] = _rows(db, system, "firms-at-risk", "firms", days=90)
    assert row | {"partner_id": None} == {
        "partner_id": None,
        "firm": "East Labs",
        "program": "default",
        "tier": "Gold",
        "state": "falls below",
        "on": "2026-09-18",
        "missing": "2 more technical certifications",
        "renewals": "Fay East LAB (expires 2026-09-18); Gus East LAB (expires 2026-09-18)",
    }
    assert _rows(db, system, "firms-at-risk", "tiers", days=90) == [
        {"program": "default", "tier": "Gold", "at_risk_now": 0, "falls_below": 1}
    ]
    # Past Sep 18 East is at risk now, in its 30-day grace.
    frozen_clock.advance(timedelta(days=60))
    tiers.sweep(db, system)
    db.commit()
    [now] = _rows(db, system, "firms-at-risk", "firms")
    assert (now["firm"], now["state"], now["on"]) == ("East Labs", "at risk now", "2026-10-18")
    assert now["missing"] == "2 more technical certifications"
    assert _rows(db, system, "firms-at-risk", "tiers") == [
        {"program": "default", "tier": "Gold", "at_risk_now": 1, "falls_below": 0}
    ]


def test_the_summary_compares_a_period_with_the_one_before(db, system, world):
    from datetime import date

    summary = service.program_summary(db, system, start=date(2026, 6, 1), end=date(2026, 7, 20))
    assert (summary.previous_start, summary.previous_end) == (date(2026, 4, 12), date(2026, 5, 31))
    figures = {figure.key: (figure.current, figure.previous) for figure in summary.figures}
    assert figures == {
        "certified_people": (4, 3),  # now: Ada, Cy, Di, Ed; on Jun 1: Ada, Cy, Di
        "new_awards": (1, 0),  # Ed
        "renewals": (1, 0),  # Di's SELL
        "lapses": (1, 0),  # Cy's SELL on Jun 19 (Bo's revocation is no lapse)
        "licenses_issued": (0, 0),
        "alerts_opened": (0, 0),
    }
    tiers = {figure.label: (figure.current, figure.previous) for figure in summary.tiers}
    assert tiers == {"Gold": (1, 1), "Registered": (1, 1)}  # North and South swapped places
    by_key = {figure.key: figure for figure in summary.figures}
    assert (by_key["certified_people"].change, by_key["certified_people"].change_percent) == (
        1,
        33.3,
    )
    assert by_key["new_awards"].change_percent is None


def test_a_summary_of_calendar_months_reads_the_months_the_worker_counted(
    db, system, world, frozen_clock
):
    from datetime import date

    def certified(start, end):
        summary = service.program_summary(db, system, start=start, end=end)
        return next(f for f in summary.figures if f.key == "certified_people")

    may = certified(date(2026, 5, 1), date(2026, 5, 31))  # at Jun 1 and May 1, counted live
    assert (may.current, may.previous) == (3, 3)
    certification.count_headcounts(db, now=frozen_clock.now())
    assert (certified(date(2026, 5, 1), date(2026, 5, 31)).current, may.previous) == (3, 3)
    # The figures are the stored ones (changed here by hand to show it).
    db.execute(update(HeadcountMonth).where(HeadcountMonth.month == "2026-05").values(people=7))
    assert certified(date(2026, 5, 1), date(2026, 5, 31)).current == 7
    # A period ending on another day is counted from the awards.
    assert certified(date(2026, 5, 1), date(2026, 5, 30)).current == 3
