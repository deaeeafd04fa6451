"""A tier above the portal world's Gold, so that the program page has a next tier to tell."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from charter.core.auth import Principal
from charter.programs.models import Certification
from charter.tiers import service as tiers
from charter.tiers.schemas import TrackRecordCreate
from charter.tiers.track_records import record_track_record
from tests.tiers.factories import gold, registered, scheme
from tests.web.portal_world import World

SYSTEM = Principal.system("program page tests")


def with_platinum(sessions: sessionmaker[Session], world: World) -> None:
    """A Platinum tier above Gold: three Cloud Architects and customer satisfaction 4.3;
    Harbor has two and scores 4.1."""
    with sessions() as db, db.begin():
        code = db.scalar(
            select(Certification.code).where(Certification.name == world.certification_name)
        )
        platinum = {
            "key": "platinum",
            "name": "Platinum",
            "rank": 3,
            "requirements": {
                "min_certified_by_certification": {code: 3},
                "min_track_record": {"customer_satisfaction": 4.3},
            },
        }
        scheme(db, SYSTEM, [registered(), gold(grace_days=0), platinum])
        record_track_record(
            db,
            SYSTEM,
            data=TrackRecordCreate(
                partner_id=world.harbor_id, metric="customer_satisfaction", value=4.1
            ),
        )
        tiers.evaluate_firm(db, SYSTEM, partner_id=world.harbor_id)
