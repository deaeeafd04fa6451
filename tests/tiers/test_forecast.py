"""The at-risk forecast over real data: who falls below their tier, and whose renewal saves it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.core.auth import Principal, Role
from charter.core.errors import Invalid
from charter.credentials import service as awards
from charter.tiers import forecast, service
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import scheme


def test_forecast_names_firms_and_the_people_whose_renewals_save_them(db, system, frozen_clock):
    cert = certification(
        db, system, track=Track.TECHNICAL, validity_days=365, renewal_window_days=60
    )
    scheme(db, system)
    # Safe: three engineers, one expiring soon; two remain.
    safe = partner(db, system, status="active")
    # Early: two engineers, one expiring in ~45 days.
    early = partner(db, system, status="active")
    # Late: two engineers, one expiring in ~75 days.
    late = partner(db, system, status="active")
    people: dict[str, list] = {}

    def staff(firm, count):
        people[firm.id] = [person(db, system, partner_id=firm.id) for _ in range(count)]
        return people[firm.id]

    staff(safe, 3)
    staff(early, 2)
    staff(late, 2)

    # Issue the expiring ones first, then move on so that the others are newer.
    def first_award(firm):
        return award(db, system, person_id=people[firm.id][0].id, certification_id=cert.id)

    expiring = {safe.id: first_award(safe), early.id: first_award(early)}
    frozen_clock.advance(timedelta(days=30))
    expiring[late.id] = first_award(late)
    frozen_clock.advance(timedelta(days=291))  # early's first award expires in 44 days, late's 74
    for firm in (safe, early, late):
        for member in people[firm.id][1:]:
            award(db, system, person_id=member.id, certification_id=cert.id)
    service.sweep(db, system)
    db.commit()

    def names(days):
        return {item.partner_id: item for item in forecast.forecast(db, system, days=days)}

    assert names(30) == {}
    sixty = names(60)
    assert set(sixty) == {early.id}
    item = sixty[early.id]
    assert item.tier.key == "gold"
    assert item.missing == ["1 more technical certification"]
    assert [r.person_id for r in item.renewals] == [people[early.id][0].id]
    assert item.renewals[0].award_id == expiring[early.id].id
    assert item.falls_below_on == expiring[early.id].valid_until
    ninety = names(90)
    assert set(ninety) == {early.id, late.id}
    assert [r.person_id for r in ninety[late.id].renewals] == [people[late.id][0].id]

    # Renewing saves the firm: it drops out of the forecast.
    frozen_clock.advance(timedelta(days=20))  # inside the 60-day renewal window
    from tests.programs.factories import passing_evidence

    passing_evidence(db, system, person_id=people[early.id][0].id, certification_id=cert.id)
    awards.renew_award(db, system, award_id=expiring[early.id].id)
    assert early.id not in names(90)

    # Partner users see their own firm only.
    scoped = Principal.for_user(
        user_id="usr_x", role=Role.PARTNER_ADMIN, partner_id=late.id, name="x"
    )
    assert {item.partner_id for item in forecast.forecast(db, scoped, days=90)} == {late.id}
    with pytest.raises(Invalid):
        forecast.forecast(db, system, days=45)
