"""The pure rules of licensing: terms, requirements, lifecycle, entitlements, dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from charter.licensing import rules
from charter.licensing.enums import LicenseStatus
from charter.tiers.rules import FirmState, Scheme
from tests.licensing.factories import terms

SCHEME = Scheme.model_validate(
    {
        "tiers": [
            {"key": "registered", "name": "Registered", "rank": 1},
            {"key": "gold", "name": "Gold", "rank": 2},
            {"key": "elite", "name": "Elite", "rank": 3},
        ]
    }
)


def test_terms_need_every_right_stated():
    value = terms()
    del value["rights"]["white_label"]

    with pytest.raises(ValidationError) as caught:
        rules.Terms.model_validate(value)

    assert caught.value.errors()[0]["loc"] == ("rights", "white_label")


@pytest.mark.parametrize(
    ("fee", "message"),
    [
        (
            {
                "model": "usage",
                "unit": "api_calls",
                "currency": "EUR",
                "tiers": [{"up_to": 10, "rate": "1"}],
            },
            "no upper bound",
        ),
        (
            {
                "model": "usage",
                "unit": "api_calls",
                "currency": "EUR",
                "tiers": [
                    {"up_to": 10, "rate": "1"},
                    {"up_to": 5, "rate": "1"},
                    {"up_to": None, "rate": "0.5"},
                ],
            },
            "must rise",
        ),
        ({"model": "flat", "amount": "10", "currency": "XXY", "period": "year"}, "ISO 4217"),
        ({"model": "barter"}, "does not match any of the expected tags"),
    ],
)
def test_fee_models_are_checked(fee, message):
    with pytest.raises(ValidationError, match=message):
        rules.Terms.model_validate(terms(fee=fee))


def test_tiered_usage_fee_is_accepted():
    fee = {
        "model": "usage",
        "unit": "api_calls",
        "currency": "USD",
        "tiers": [{"up_to": 1000, "rate": "0.01"}, {"up_to": None, "rate": "0.005"}],
    }

    parsed = rules.Terms.model_validate(terms(fee=fee))

    assert isinstance(parsed.fee, rules.UsageFee)


def test_territory_needs_a_region_or_country_and_no_contradiction():
    with pytest.raises(ValidationError, match="at least one region or country"):
        rules.Territory.model_validate({})
    with pytest.raises(ValidationError, match="both included and excluded"):
        rules.Territory.model_validate({"countries": ["DE"], "excluded_countries": ["DE"]})
    with pytest.raises(ValidationError, match="ISO 3166"):
        rules.Territory.model_validate({"countries": ["XX"]})


def _state(**counts: dict[str, int]) -> FirmState:
    return FirmState(partner_id="prt_X", **counts)


def test_a_firm_below_the_tier_lacks_it():
    needs = rules.Requirements(min_tier="gold")

    assert rules.unmet_requirements(needs, state=_state(), scheme=SCHEME, held="registered") == [
        "tier Gold or higher (holds Registered)"
    ]
    assert rules.unmet_requirements(needs, state=_state(), scheme=SCHEME, held=None) == [
        "tier Gold or higher (holds no tier)"
    ]
    assert rules.unmet_requirements(needs, state=_state(), scheme=SCHEME, held="elite") == []
    assert rules.unmet_requirements(needs, state=_state(), scheme=SCHEME, held="gold") == []


def test_a_tier_no_scheme_has_cannot_be_met():
    needs = rules.Requirements(min_tier="gold")

    [line] = rules.unmet_requirements(needs, state=_state(), scheme=None, held=None)

    assert "no tier scheme in force" in line


def test_certified_headcount_is_counted():
    needs = rules.Requirements.model_validate(
        {
            "min_certified_by_track": {"technical": 2},
            "min_certified_by_certification": {"ADM-201": 3},
            "required_certifications": ["SEC-1"],
        }
    )
    state = _state(certified_by_track={"technical": 1}, certified_by_certification={"ADM-201": 3})

    lines = rules.unmet_requirements(needs, state=state, scheme=None, held=None)

    assert lines == [
        "2 people certified in the technical track (has 1)",
        "a person certified in SEC-1",
    ]


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        (LicenseStatus.ACTIVE, "suspend", LicenseStatus.SUSPENDED),
        (LicenseStatus.SUSPENDED, "reinstate", LicenseStatus.ACTIVE),
        (LicenseStatus.SUSPENDED, "revoke", LicenseStatus.REVOKED),
        (LicenseStatus.EXPIRED, "renew", LicenseStatus.ACTIVE),
        (LicenseStatus.SUSPENDED, "renew", LicenseStatus.SUSPENDED),
        (LicenseStatus.ACTIVE, "terminate", LicenseStatus.TERMINATED),
    ],
)
def test_allowed_transitions(status, action, after):
    assert rules.transition(status, action) is after


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (LicenseStatus.REVOKED, "reinstate"),
        (LicenseStatus.REVOKED, "renew"),
        (LicenseStatus.TERMINATED, "revoke"),
        (LicenseStatus.EXPIRED, "suspend"),
        (LicenseStatus.ACTIVE, "reinstate"),
    ],
)
def test_refused_transitions_say_why(status, action):
    with pytest.raises(ValueError, match=f"is {status.value} cannot be"):
        rules.transition(status, action)


def test_an_active_license_past_its_term_reads_as_expired():
    end = datetime(2026, 6, 1, tzinfo=UTC)

    assert rules.effective_status(LicenseStatus.ACTIVE, end, end) is LicenseStatus.EXPIRED
    assert rules.effective_status(LicenseStatus.SUSPENDED, end, end) is LicenseStatus.SUSPENDED


def test_entitlements_join_features_and_tier_benefits():
    assert rules.entitlements(["sso", "api_access"], ["priority_support", "sso"]) == [
        "api_access",
        "priority_support",
        "sso",
    ]


def test_months_are_calendar_months():
    assert rules.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
    assert rules.add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(
        2028, 1, 15, tzinfo=UTC
    )
