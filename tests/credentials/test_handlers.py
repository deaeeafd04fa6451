"""The worker's periodic expiry: an award past ``valid_until`` is stored as expired."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.worker.models import Job
from charter.worker.runner import run_until_idle
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification


def test_the_worker_expires_awards_past_valid_until(sessions, system, frozen_clock):
    with sessions() as db, db.begin():
        holder = person(db, system, partner_id=partner(db, system).id)
        cert = certification(db, system, validity_days=365)
        issued = award(db, system, person_id=holder.id, certification_id=cert.id)
        award_id, valid_until = issued.id, issued.valid_until
    frozen_clock.set(valid_until + timedelta(days=1))

    run_until_idle(sessions)

    with sessions() as db:
        assert db.scalar(select(Award.status).where(Award.id == award_id)) == AwardStatus.EXPIRED
        keys = db.scalars(select(Job.key).where(Job.name == "credentials.expire_awards")).all()
    assert [key.split(":")[:2] for key in keys] == [["periodic", "credentials.expire_awards"]]
