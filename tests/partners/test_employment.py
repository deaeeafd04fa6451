"""Who works where: joining and leaving firms, with the history kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from charter.core.errors import Conflict
from charter.core.models import Event
from charter.partners import employment
from charter.partners.models import (
    Employment,
    Person,
)
from tests.partners import factories


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_join_and_leave_keep_the_history(db, system, frozen_clock):
    first = factories.partner(db, system)
    second = factories.partner(db, system)
    person = factories.person(db, system, partner_id=first.id)
    frozen_clock.advance(timedelta(days=30))
    employment.person_joins_partner(db, system, person_id=person.id, partner_id=second.id)
    frozen_clock.advance(timedelta(days=30))
    employment.person_leaves_partner(db, system, person_id=person.id)
    db.commit()
    assert db.get(Person, person.id).partner_id is None
    history = employment.list_employments(db, system, person_id=person.id)
    start = frozen_clock.now() - timedelta(days=60)
    assert [(job.partner_id, job.joined_at, job.left_at) for job in history] == [
        (first.id, start, start + timedelta(days=30)),
        (second.id, start + timedelta(days=30), start + timedelta(days=60)),
    ]
    moves = [
        (event.type, event.partner_id)
        for event in db.scalars(
            select(Event).where(Event.subject_id == person.id).order_by(Event.seq)
        )
    ]
    assert moves == [
        ("person.created", first.id),
        ("person.joined_partner", first.id),
        ("person.left_partner", first.id),
        ("person.joined_partner", second.id),
        ("person.left_partner", second.id),
    ]


def test_leaving_without_a_job_is_a_conflict(db, system):
    person = factories.person(db, system, partner_id=None)
    with pytest.raises(Conflict, match="does not work"):
        employment.person_leaves_partner(db, system, person_id=person.id)


def test_joining_the_current_firm_again_is_a_conflict(db, system):
    firm = factories.partner(db, system)
    person = factories.person(db, system, partner_id=firm.id)
    with pytest.raises(Conflict, match="already works"):
        employment.person_joins_partner(db, system, person_id=person.id, partner_id=firm.id)


def test_nobody_joins_a_terminated_firm(db, system):
    closed = factories.partner(db, system, status="terminated")
    person = factories.person(db, system, partner_id=None)
    with pytest.raises(Conflict, match="terminated"):
        employment.person_joins_partner(db, system, person_id=person.id, partner_id=closed.id)
    with pytest.raises(Conflict, match="terminated"):
        factories.person(db, system, partner_id=closed.id)
    assert db.get(Person, person.id).partner_id is None
    assert _count(db, Employment) == 0
