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
