"""The at-risk forecast over real data: who falls below their tier, and whose renewal saves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from charter.core import clock
from charter.core.auth import Principal, Role
from charter.core.errors import Invalid
from charter.core.models import Event
from charter.credentials import service as awards
from charter.tiers import forecast, handlers, service
from charter.tiers.models import FirmForecast
from charter.worker import registry
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import scheme


def _three_firms(db, system, frozen_clock):
    """Safe (three engineers, one expiring soon), early (two, one expiring in 44 days) and
    late (two, one expiring in 74 days), all Gold; with their people and expiring awards."""
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

    return safe, early, late, people, expiring


def test_forecast_names_firms_and_the_people_whose_renewals_save_them(db, system, frozen_clock):
    _, early, late, people, expiring = _three_firms(db, system, frozen_clock)

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

    passing_evidence(
        db,
        system,
        person_id=people[early.id][0].id,
        certification_id=expiring[early.id].certification_id,
    )
    awards.renew_award(db, system, award_id=expiring[early.id].id)
    assert early.id not in names(90)

    # Partner users see their own firm only.
    scoped = Principal.for_user(
        user_id="usr_x", role=Role.PARTNER_ADMIN, partner_id=late.id, name="x"
    )
    assert {item.partner_id for item in forecast.forecast(db, scoped, days=90)} == {late.id}
    with pytest.raises(Invalid):
        forecast.forecast(db, system, days=45)


def test_kept_forecasts_point_the_report_at_the_firms_that_may_fall(db, system, frozen_clock):
    safe, early, late, _, expiring = _three_firms(db, system, frozen_clock)
    now = frozen_clock.now()
    assert forecast.count_falls(db, now) == 3
    kept = {row.partner_id: row.falls_below_on for row in db.scalars(select(FirmForecast))}
    assert kept == {
        safe.id: None,
        early.id: expiring[early.id].valid_until,
        late.id: expiring[late.id].valid_until,
    }

    def names(days):
        return {item.partner_id for item in forecast.forecast(db, system, days=days)}

    assert names(90) == {early.id, late.id}
    # The report replays only the firms a kept forecast points at: here one changed by hand
    # to say early never falls.
    db.execute(
        update(FirmForecast).where(FirmForecast.partner_id == early.id).values(falls_below_on=None)
    )
    assert names(90) == {late.id}
    # A kept forecast over a day old is not trusted: early is replayed again.
    db.execute(
        update(FirmForecast)
        .where(FirmForecast.partner_id == early.id)
        .values(counted_at=now - timedelta(days=2))
    )
    assert names(90) == {early.id, late.id}
    # Worked out again for one firm; forgotten (as the worker does with each award event),
    # the firm is replayed again.
    forecast.count_falls(db, now, [early.id])
    assert db.get(FirmForecast, (early.id, "default")).counted_at == now
    db.execute(
        update(FirmForecast).where(FirmForecast.partner_id == early.id).values(falls_below_on=None)
    )
    assert names(90) == {late.id}
    forecast.forget(db, [early.id])
    assert names(90) == {early.id, late.id}
    assert "tiers.count_forecasts" in [task.name for task in registry.periodic_tasks()]


def test_an_award_event_drops_the_kept_forecast_of_the_firms_it_concerns(db, system, frozen_clock):
    safe, early, late, _, expiring = _three_firms(db, system, frozen_clock)
    forecast.count_falls(db, frozen_clock.now())
    awards.revoke_award(db, system, award_id=expiring[early.id].id, reason="left")
    [event] = db.scalars(select(Event).where(Event.type == "award.revoked")).all()
    handlers.reevaluate(db, system, event)
    kept = {row.partner_id for row in db.scalars(select(FirmForecast))}
    assert kept == {safe.id, late.id}


def test_no_scheme_in_force_forecasts_nothing(db, system):
    partner(db, system, status="active")
    assert forecast.forecast(db, system, days=90) == []
    assert forecast.count_falls(db, clock.now()) == 0
