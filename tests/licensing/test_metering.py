"""The pure rules of usage metering: periods, cap windows, caps in agreement terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from charter.licensing import metering, rules
from tests.licensing.factories import terms


def test_usage_rolls_up_by_calendar_month_in_utc():
    late_in_new_york = datetime(2026, 3, 31, 22, 0, tzinfo=timezone(timedelta(hours=-4)))

    assert metering.month_start(late_in_new_york) == datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "at", "window"),
    [
        ("month", datetime(2026, 12, 9, tzinfo=UTC), ((2026, 12), (2027, 1))),
        ("month", datetime(2026, 2, 28, 23, tzinfo=UTC), ((2026, 2), (2026, 3))),
        ("year", datetime(2026, 7, 4, tzinfo=UTC), ((2026, 1), (2027, 1))),
    ],
)
def test_a_cap_covers_its_month_or_calendar_year(period, at, window):
    start, end = metering.cap_window(period, at)

    assert ((start.year, start.month), (end.year, end.month)) == window


def test_terms_without_caps_stay_valid_and_caps_are_checked():
    assert rules.Terms.model_validate(terms()).usage_caps == {}
    capped = rules.Terms.model_validate(terms(usage_caps={"api_calls": {"limit": 5}}))
    assert capped.usage_caps["api_calls"].overage is metering.Overage.ALLOW_AND_FLAG
    with pytest.raises(ValidationError):
        rules.Terms.model_validate(
            terms(usage_caps={"api_calls": {"limit": 5, "overage": "ignore"}})
        )
    with pytest.raises(ValidationError):
        rules.Terms.model_validate(terms(usage_caps={"api_calls": {"limit": 0}}))


def test_the_metrics_an_agreement_names():
    assert metering.metrics_named(None, []) is None
    assert metering.metrics_named("api_calls", ["storage_gb"]) == {"api_calls", "storage_gb"}


def test_passing_a_cap_means_going_beyond_it():
    cap = metering.UsageCap(limit=10)

    assert not metering.is_over(10, cap)
    assert metering.is_over(11, cap)
