"""A small program built through the services over five months, for hand-computed reports.

The frozen clock starts on 2026-03-01 12:00 UTC; :func:`build` leaves it on 2026-07-20 12:00.

- Firms: North (EMEA) with Ada and Bo, South (NA) with Cy, Di and (from July) Ed.
- Certification ARCH (technical, 365 days); SELL (sales, 100 days, renewal window 30 days).
- Mar 1: Ada ARCH (first assessment 1 day before), Bo ARCH (10 days before); sweep: North
  upgraded to Gold, South to Registered.
- Mar 11: Cy ARCH and SELL (first assessment Mar 6: 5 days), Di SELL (Mar 7: 4 days).
- Apr 15: Bo's ARCH revoked; sweep: North at risk (grace until May 15).
- Jun 10: Di's SELL renewed (to Sep 27); ARCH criteria v2 published, in force Jul 1; sweep:
  North downgraded to Registered. Cy's SELL lapses on Jun 19.
- Jul 20: Ed ARCH under v2 (1 day); sweep: South upgraded to Gold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.credentials import service as awards
from charter.credentials.models import Award
from charter.partners.models import Partner, Person
from charter.programs import service as programs
from charter.programs.models import Certification
from charter.programs.rules import Requirements
from charter.programs.schemas import CriteriaCreate
from charter.tiers import service as tiers
from tests.codes import Region, Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import assessment, certification, passing_evidence
from tests.tiers.factories import scheme

START = datetime(2026, 3, 1, 12, tzinfo=UTC)
END = datetime(2026, 7, 20, 12, tzinfo=UTC)


@dataclass
class World:
    """What :func:`build` made."""

    north: Partner
    south: Partner
    ada: Person
    bo: Person
    cy: Person
    di: Person
    ed: Person
    arch: Certification
    sell: Certification
    di_sell: Award


def _at(frozen: clock.FrozenClock, when: datetime) -> None:
    frozen.advance(when - frozen.now())


def build(db: Session, actor: Principal, frozen: clock.FrozenClock) -> World:
    """The program above, committed; the clock is left on :data:`END`."""
    assert frozen.now() == START
    north = partner(db, actor, status="active", name="North Systems", regions=[Region.EMEA])
    south = partner(db, actor, status="active", name="South Cloud", regions=[Region.NA])
    ada = person(db, actor, partner_id=north.id, given_name="Ada", family_name="North")
    bo = person(db, actor, partner_id=north.id, given_name="Bo", family_name="North")
    cy = person(db, actor, partner_id=south.id, given_name="Cy", family_name="South")
    di = person(
        db, actor, partner_id=south.id, given_name="Di", family_name="South", track=Track.SALES
    )
    arch = certification(db, actor, code="ARCH", track=Track.TECHNICAL, validity_days=365)
    sell = certification(
        db, actor, code="SELL", track=Track.SALES, validity_days=100, renewal_window_days=30
    )
    scheme(db, actor)

    award(db, actor, person_id=ada.id, certification_id=arch.id)
    assessment(db, actor, person_id=bo.id, occurred_at=START - timedelta(days=10))
    award(db, actor, person_id=bo.id, certification_id=arch.id)
    tiers.sweep(db, actor)
    db.commit()

    _at(frozen, datetime(2026, 3, 11, 12, tzinfo=UTC))
    assessment(db, actor, person_id=cy.id, occurred_at=datetime(2026, 3, 6, 12, tzinfo=UTC))
    assessment(db, actor, person_id=di.id, occurred_at=datetime(2026, 3, 7, 12, tzinfo=UTC))
    award(db, actor, person_id=cy.id, certification_id=arch.id)
    award(db, actor, person_id=cy.id, certification_id=sell.id)
    di_sell = award(db, actor, person_id=di.id, certification_id=sell.id)
    db.commit()

    _at(frozen, datetime(2026, 4, 15, 12, tzinfo=UTC))
    bo_arch = db.query(Award).filter_by(person_id=bo.id).one()
    awards.revoke_award(db, actor, award_id=bo_arch.id, reason="left the program")
    tiers.sweep(db, actor)
    db.commit()

    _at(frozen, datetime(2026, 6, 10, 12, tzinfo=UTC))
    passing_evidence(db, actor, person_id=di.id, certification_id=sell.id)
    awards.renew_award(db, actor, award_id=di_sell.id)
    version = programs.criteria_in_force(db, certification_id=arch.id, at=clock.now())
    programs.publish_criteria(
        db,
        actor,
        certification_id=arch.id,
        data=CriteriaCreate(
            narrative="Pass the exam with 75% or more.",
            requirements=Requirements.model_validate(
                {**version.requirements, "assessments": [{"code": "EXAM-ARCH", "min_score": 75}]}
            ),
            effective_from=datetime(2026, 7, 1, tzinfo=UTC),
        ),
    )
    tiers.sweep(db, actor)
    db.commit()

    _at(frozen, END)
    ed = person(db, actor, partner_id=south.id, given_name="Ed", family_name="South")
    award(db, actor, person_id=ed.id, certification_id=arch.id)
    tiers.sweep(db, actor)
    db.commit()
    return World(north, south, ada, bo, cy, di, ed, arch, sell, di_sell)
