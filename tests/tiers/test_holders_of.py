"""How many people hold a certification now, as its public achievement page says."""

from __future__ import annotations

from sqlalchemy import select

from charter.credentials import service as awards
from charter.credentials.models import Award
from charter.tiers.directory import holders_of
from tests.reports.world import build


def test_holders_are_people_with_an_active_award_that_has_not_ended(db, system, frozen_clock):
    world = build(db, system, frozen_clock)
    now = frozen_clock.now()
    # ARCH: Ada, Cy and Ed active; Bo's revoked. SELL: Di's renewed; Cy's ended on June 19
    # and is still stored active (no sweep has run).
    assert holders_of(db, world.arch.id, now) == 3
    assert holders_of(db, world.sell.id, now) == 1
    ada_arch = db.scalar(
        select(Award).where(
            Award.person_id == world.ada.id, Award.certification_id == world.arch.id
        )
    )
    awards.suspend_award(db, system, award_id=ada_arch.id, reason="under review")
    assert holders_of(db, world.arch.id, now) == 2
    awards.reinstate_award(db, system, award_id=ada_arch.id, reason="cleared")
    assert holders_of(db, world.arch.id, now) == 3
