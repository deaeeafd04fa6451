"""A license's use of each capped metric in the period running now, behind the license's read
check: a partner user reads their own firm's licenses only."""

from __future__ import annotations

import pytest

from charter.accounts import service as accounts
from charter.core.auth import Principal, Role
from charter.core.errors import NotFound
from charter.licensing import usage
from tests.web.partner_licensing_world import build_licensed


def _partner_user(db, partner_id: str) -> Principal:
    user = accounts.create_user(
        db,
        Principal.system("tests"),
        email="member@harbor.example",
        display_name="Member",
        role=Role.PARTNER_MEMBER,
        password="a long enough password",
        partner_id=partner_id,
    )
    return Principal.for_user(
        user_id=user.id, role=Role.PARTNER_MEMBER, partner_id=partner_id, name="Member"
    )


def test_use_is_counted_against_each_cap_and_only_for_the_firms_own_licenses(sessions):
    licensed = build_licensed(sessions)
    with sessions() as db, db.begin():
        member = _partner_user(db, licensed.world.harbor_id)
        [cap] = usage.usage_against_caps(db, member, license_id=licensed.license_id)
        assert (cap.metric, cap.used, cap.cap.limit, cap.cap.period) == (
            "api_calls",
            130,
            100,
            "month",
        )
        assert cap.over
        assert cap.period_start < cap.period_end
        [other] = usage.usage_against_caps(
            db, Principal.system("tests"), license_id=licensed.other_license_id
        )
        assert (other.used, other.over) == (0, False)
        with pytest.raises(NotFound):
            usage.usage_against_caps(db, member, license_id=licensed.other_license_id)


def test_the_nearest_caps_of_many_licenses_agree_with_each_and_keep_to_the_scope(sessions):
    licensed = build_licensed(sessions)
    both = [licensed.license_id, licensed.other_license_id, "lic_unknown"]
    with sessions() as db, db.begin():
        member = _partner_user(db, licensed.world.harbor_id)
        system = Principal.system("tests")
        worst = usage.worst_caps(db, system, license_ids=both)
        assert set(worst) == {licensed.license_id, licensed.other_license_id}
        [own] = usage.usage_against_caps(db, system, license_id=licensed.license_id)
        assert worst[licensed.license_id] == own
        assert (own.percent, worst[licensed.other_license_id].percent) == (130, 0)
        assert set(usage.worst_caps(db, member, license_ids=both)) == {licensed.license_id}
        assert usage.worst_caps(db, member, license_ids=[]) == {}
