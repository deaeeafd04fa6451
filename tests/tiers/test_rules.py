"""The pure tier engine: placement, what is missing, grace and downgrade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from charter.tiers import rules
from charter.tiers.rules import FirmState, Scheme, Standing
from tests.tiers.factories import gold, registered

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
ELITE = {
    "key": "elite",
    "name": "Elite",
    "rank": 3,
    "requirements": {
        "good_standing": True,
        "min_certified_by_track": {"technical": 4, "sales": 1},
        "min_certified_by_certification": {"CLD-PRO": 2},
        "required_certifications": ["SEC-101"],
        "min_track_record": {"customer_satisfaction": 4.3},
    },
    "grace_days": 60,
}
SCHEME = Scheme.model_validate({"tiers": [ELITE, registered(), gold()]})


def state(**values) -> FirmState:
    return FirmState(partner_id="prt_x", **values)


def test_tiers_are_ranked_and_the_best_met_one_wins():
    firm = state(certified_by_track={"technical": 2})
    result = rules.evaluate(SCHEME, firm)
    assert result.qualified is not None
    assert result.qualified.key == "gold"
    assert result.next_tier is not None
    assert result.next_tier.key == "elite"
    assert result.missing == [
        "1 more sales certification",
        "2 more technical certifications",
        "2 more people certified in CLD-PRO",
        "a person certified in SEC-101",
        "customer satisfaction not recorded (needs 4.3)",
    ]


def test_missing_lines_read_as_the_issue_asks():
    firm = state(certified_by_track={"technical": 1}, track_record={"customer_satisfaction": 4.1})
    assert rules.unmet(SCHEME.get("gold"), firm) == ["1 more technical certification"]
    elite = rules.unmet(SCHEME.get("elite"), firm)
    assert "customer satisfaction 4.1 < 4.3" in elite


def test_standing_and_onboarding_are_requirements():
    suspended = state(status="suspended", certified_by_track={"technical": 5})
    assert rules.evaluate(SCHEME, suspended).qualified is None
    assert rules.unmet(SCHEME.get("registered"), suspended) == [
        "partner in good standing (status is suspended, not active)"
    ]
    onboarding = state(
        missing_onboarding=("agreement_signed",), certified_by_track={"technical": 2}
    )
    assert rules.evaluate(SCHEME, onboarding).qualified.key == "registered"
    assert rules.unmet(SCHEME.get("gold"), onboarding) == [
        "onboarding complete (missing: agreement_signed)"
    ]


def test_a_scheme_refuses_duplicate_keys_and_ranks():
    with pytest.raises(ValidationError, match="rank 1 is used by two tiers"):
        Scheme.model_validate({"tiers": [registered(), gold(rank=1)]})
    with pytest.raises(ValidationError, match="used twice"):
        Scheme.model_validate({"tiers": [registered(), registered(rank=2)]})
    with pytest.raises(ValidationError):
        Scheme.model_validate({"tiers": [gold(grace_days=-1)]})


def _advance(standing: Standing, firm: FirmState, at: datetime):
    new, changes, _ = rules.step(SCHEME, standing, firm, at)
    return new, [change.kind for change in changes]


def test_grace_then_downgrade_and_recovery():
    met = state(certified_by_track={"technical": 2})
    short = state(certified_by_track={"technical": 1})
    standing, kinds = _advance(Standing(), met, NOW)
    assert (standing.tier, kinds) == ("gold", ["upgraded"])
    assert _advance(standing, met, NOW) == (standing, [])

    at_risk, kinds = _advance(standing, short, NOW + timedelta(days=1))
    assert kinds == ["at_risk"]
    assert at_risk.tier == "gold"
    assert at_risk.grace_until == NOW + timedelta(days=31)
    assert at_risk.missing == ("1 more technical certification",)
    assert _advance(at_risk, short, NOW + timedelta(days=30)) == (at_risk, [])

    recovered, kinds = _advance(at_risk, met, NOW + timedelta(days=30))
    assert kinds == ["recovered"]
    assert recovered.at_risk_since is None

    down, kinds = _advance(at_risk, short, NOW + timedelta(days=31))
    assert kinds == ["downgraded"]
    assert down.tier == "registered"
    assert _advance(down, short, NOW + timedelta(days=32)) == (down, [])


def test_no_grace_means_an_immediate_downgrade_and_removed_tiers_are_left():
    standing = Standing(tier="registered", since=NOW)
    down, kinds = _advance(standing, state(status="suspended"), NOW)
    assert (down.tier, kinds) == (None, ["downgraded"])
    removed = Standing(tier="platinum", since=NOW)
    moved, kinds = _advance(removed, state(), NOW)
    assert (moved.tier, kinds) == ("registered", ["upgraded"])


TRACKS = st.sampled_from(["technical", "sales", "support"])
CODES = st.sampled_from(["CLD-PRO", "SEC-101", "OTHER"])
HOLDINGS = st.lists(
    st.tuples(st.sampled_from([f"per_{n}" for n in range(8)]), TRACKS, CODES), max_size=30
)
FIRMS = st.builds(
    lambda holdings, status, satisfaction: (holdings, status, satisfaction),
    HOLDINGS,
    st.sampled_from(["active", "suspended"]),
    st.none() | st.floats(min_value=0, max_value=5),
)


def _firm(holdings, status, satisfaction) -> FirmState:
    by_track, by_code = rules.certified_counts(holdings)
    return state(
        status=status,
        certified_by_track=by_track,
        certified_by_certification=by_code,
        track_record={} if satisfaction is None else {"customer_satisfaction": satisfaction},
    )


def _rank(tier) -> int:
    return tier.rank if tier else 0


@given(FIRMS, TRACKS, CODES)
def test_adding_a_certified_person_never_lowers_the_tier(firm, track, code):
    holdings, status, satisfaction = firm
    before = rules.evaluate(SCHEME, _firm(holdings, status, satisfaction))
    more = [*holdings, ("per_new", track, code)]
    after = rules.evaluate(SCHEME, _firm(more, status, satisfaction))
    assert _rank(after.qualified) >= _rank(before.qualified)


@given(FIRMS)
def test_nothing_is_missing_exactly_when_the_next_tier_is_met(firm):
    result = rules.evaluate(SCHEME, _firm(*firm))
    if result.next_tier is None:
        assert result.missing == []
    else:
        # The next tier up is by definition not met: something is always listed.
        assert result.missing
        assert rules.unmet(result.next_tier, _firm(*firm)) == result.missing
    for tier in SCHEME.tiers:
        met = not rules.unmet(tier, _firm(*firm))
        assert met == (_rank(tier) <= _rank(result.qualified) and met)


@given(FIRMS, st.integers(min_value=0, max_value=400))
def test_stepping_twice_changes_nothing_the_second_time(firm, days):
    current = _firm(*firm)
    first, _ = _advance(Standing(tier="gold", since=NOW), current, NOW)
    second, kinds = _advance(first, current, NOW + timedelta(days=days) if days < 30 else NOW)
    assert kinds == []
    assert second == first


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Gold\nPartner"),
        ("name", "Gold\x00"),
        ("description", "nul\x00"),
        ("key", "gold\n"),
    ],
)
def test_a_tier_refuses_text_no_database_can_store_as_given(field, value):
    with pytest.raises(ValidationError) as refused:
        rules.Tier.model_validate({**gold(), field: value})
    assert refused.value.errors()[0]["loc"] == (field,)


def test_a_tier_description_may_span_lines():
    tier = rules.Tier.model_validate({**gold(), "description": "  Top partners.\nBy invitation. "})
    assert tier.description == "Top partners.\nBy invitation."


def test_shortfalls_carry_the_figures_and_word_themselves_as_unmet_does():
    elite = SCHEME.get("elite")
    assert elite is not None
    firm = state(
        status="suspended",
        certified_by_track={"technical": 3},
        certified_by_certification={"CLD-PRO": 1},
        track_record={"customer_satisfaction": 4.1},
    )
    found = rules.shortfalls(elite, firm)
    kinds = [(item.kind, item.subject, item.have, item.wanted) for item in found]
    assert kinds == [
        (rules.ShortfallKind.STANDING, "", None, 0),
        (rules.ShortfallKind.TRACK, "sales", 0, 1),
        (rules.ShortfallKind.TRACK, "technical", 3, 4),
        (rules.ShortfallKind.CERTIFICATION, "CLD-PRO", 1, 2),
        (rules.ShortfallKind.REQUIRED_CERTIFICATION, "SEC-101", 0, 1),
        (rules.ShortfallKind.TRACK_RECORD, "customer_satisfaction", 4.1, 4.3),
    ]
    assert [item.line() for item in found] == rules.unmet(elite, firm)
    assert found[3].short_by == 1
    assert rules.unmet(elite, firm)[-1] == "customer satisfaction 4.1 < 4.3"
