"""Problem details keep RFC 9457's own members for what the RFC says they mean."""

from __future__ import annotations

import pytest

from charter.core.errors import STANDARD_MEMBERS, CharterError, Conflict, CriteriaNotMet


def test_extensions_sit_beside_the_standard_members():
    body = Conflict("no", current_status="applicant", allowed=["onboarding"]).problem("/x")
    assert body == {
        "type": "/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "no",
        "instance": "/x",
        "current_status": "applicant",
        "allowed": ["onboarding"],
    }


@pytest.mark.parametrize("name", sorted(STANDARD_MEMBERS))
def test_an_extension_cannot_take_a_standard_members_name(name):
    with pytest.raises(TypeError, match=name):
        Conflict("no", **{name: "applicant"})


def test_a_standard_member_survives_an_extension_set_afterwards():
    error = CriteriaNotMet("not yet", unmet=["exam"])
    error.extensions["status"] = "applicant"
    error.extensions["type"] = "elsewhere"
    body = error.problem()
    assert body["status"] == 422
    assert body["type"] == "/problems/criteria-not-met"
    assert body["unmet"] == ["exam"]


def test_the_base_error_has_the_standard_members():
    assert set(CharterError("bad").problem("/y")) == STANDARD_MEMBERS
