"""The dashboard's award counts by effective status, for staff and for one firm's users."""

from __future__ import annotations

import pytest

from charter.core.auth import Principal, Role
from charter.web.dashboard import build_dashboard
from tests.reports.world import build


@pytest.fixture
def world(db, system, frozen_clock):
    return build(db, system, frozen_clock)


def _awards(db, actor, frozen_clock):
    counts = build_dashboard(db, actor, at=frozen_clock.now()).awards_by_status
    return {status: n for status, n in counts.items() if n}


def test_awards_past_their_end_count_as_expired_before_the_sweep_stores_it(
    db, system, world, frozen_clock
):
    # Ada, Cy and Ed hold ARCH, Di SELL (renewed); Bo's ARCH was revoked; Cy's SELL ended on
    # June 19 and is still stored active (no sweep has run): it counts as expired.
    assert _awards(db, system, frozen_clock) == {
        "active": 4,
        "revoked": 1,
        "expired": 1,
    }


def test_a_firms_users_count_their_own_firms_awards(db, world, frozen_clock):
    def firm_admin(firm):
        return Principal.for_user(
            user_id="usr_test", role=Role.PARTNER_ADMIN, partner_id=firm.id, name="admin"
        )

    assert _awards(db, firm_admin(world.south), frozen_clock) == {"active": 3, "expired": 1}
    assert _awards(db, firm_admin(world.north), frozen_clock) == {"active": 1, "revoked": 1}
