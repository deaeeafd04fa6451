"""The partner lifecycle rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from charter.partners import rules
from charter.partners.enums import OnboardingCheck, PartnerStatus

S = PartnerStatus
ALLOWED = {
    (S.APPLICANT, S.ONBOARDING),
    (S.APPLICANT, S.TERMINATED),
    (S.ONBOARDING, S.ACTIVE),
    (S.ONBOARDING, S.TERMINATED),
    (S.ACTIVE, S.SUSPENDED),
    (S.ACTIVE, S.TERMINATED),
    (S.SUSPENDED, S.ACTIVE),
    (S.SUSPENDED, S.TERMINATED),
}


def _all_done() -> dict[str, dict[str, object]]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        check.value: rules.onboarding_entry(done=True, at=at, by="usr_1", note=None)
        for check in OnboardingCheck
    }


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_only_the_lifecycle_transitions_are_allowed(current, target):
    refusal = rules.transition_refusal(current, target, _all_done())
    if (current, target) in ALLOWED:
        assert refusal is None
    else:
        assert refusal is not None
        assert current.value in refusal


def test_a_refusal_lists_where_the_firm_can_go():
    refusal = rules.transition_refusal(S.APPLICANT, S.ACTIVE, _all_done())
    assert refusal is not None
    assert "onboarding, terminated" in refusal


def test_terminated_is_final():
    assert rules.allowed_transitions(S.TERMINATED) == []
    refusal = rules.transition_refusal(S.TERMINATED, S.ACTIVE, _all_done())
    assert refusal is not None
    assert "final" in refusal


def test_staying_in_the_same_status_is_refused():
    assert rules.transition_refusal(S.ACTIVE, S.ACTIVE, _all_done()) == (
        "the partner is already active"
    )


def test_a_new_firm_has_every_check_missing():
    assert rules.missing_onboarding_checks(rules.empty_onboarding()) == list(OnboardingCheck)


@pytest.mark.parametrize("check", list(OnboardingCheck))
def test_activation_needs_every_onboarding_check(check):
    onboarding = _all_done()
    onboarding[check.value]["done"] = False
    refusal = rules.transition_refusal(S.ONBOARDING, S.ACTIVE, onboarding)
    assert refusal is not None
    assert check.value in refusal
    # Reinstating a suspended firm obeys the same rule.
    assert rules.transition_refusal(S.SUSPENDED, S.ACTIVE, onboarding) is not None


def test_a_malformed_onboarding_record_counts_as_not_done():
    record = {"identity_verified": "yes", "eligibility": {"done": "true"}}
    assert rules.missing_onboarding_checks(record) == list(OnboardingCheck)
    assert rules.missing_onboarding_checks(None) == list(OnboardingCheck)


def test_onboarding_entries_store_utc_iso_times():
    entry = rules.onboarding_entry(
        done=True, at=datetime(2026, 3, 1, 12, tzinfo=UTC), by="usr_1", note="ok"
    )
    assert entry == {"done": True, "at": "2026-03-01T12:00:00+00:00", "by": "usr_1", "note": "ok"}
