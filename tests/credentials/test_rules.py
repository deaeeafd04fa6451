"""Pure award rules: effective status and the renewal window (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from charter.credentials.enums import AwardStatus
from charter.credentials.rules import effective_status, renewal_opens_at, renewal_refusal

UNTIL = datetime(2027, 3, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


@pytest.mark.parametrize("status", [AwardStatus.ACTIVE, AwardStatus.SUSPENDED])
def test_a_live_award_expires_the_instant_valid_until_passes(status):
    assert effective_status(status, UNTIL, UNTIL - SECOND) is status
    assert effective_status(status, UNTIL, UNTIL) is AwardStatus.EXPIRED


def test_a_revoked_award_stays_revoked_after_expiry():
    assert effective_status(AwardStatus.REVOKED, UNTIL, UNTIL + SECOND) is AwardStatus.REVOKED


def test_renewal_window_opens_the_given_days_before_expiry():
    assert renewal_opens_at(UNTIL, 60) == UNTIL - timedelta(days=60)


def test_renewal_is_refused_before_the_window():
    reason = renewal_refusal(AwardStatus.ACTIVE, UNTIL, 60, UNTIL - timedelta(days=60) - SECOND)
    assert reason is not None
    assert reason.startswith("renewal opens on 2026-12-31")


def test_renewal_is_allowed_from_the_first_instant_of_the_window_to_just_before_expiry():
    assert renewal_refusal(AwardStatus.ACTIVE, UNTIL, 60, UNTIL - timedelta(days=60)) is None
    assert renewal_refusal(AwardStatus.ACTIVE, UNTIL, 60, UNTIL - SECOND) is None


def test_renewal_is_refused_once_expired():
    assert renewal_refusal(AwardStatus.ACTIVE, UNTIL, 60, UNTIL) == (
        "the award has expired; it must be earned again"
    )


@pytest.mark.parametrize("status", [AwardStatus.SUSPENDED, AwardStatus.REVOKED])
def test_only_active_awards_renew(status):
    assert renewal_refusal(status, UNTIL, 60, UNTIL - DAY) == (
        f"a {status.value} award cannot be renewed"
    )
