"""A small program for the portal's tests: two firms, their people, awards and a tier scheme.

Harbor holds Gold through two engineers whose awards end within 60 days (so the forecast
names them); Quill is a second firm whose data no Harbor user may ever see.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from charter.core.auth import Principal
from charter.partners.enums import PartnerStatus
from charter.tiers import service as tiers
from tests.codes import PartnerType, Region, Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import assessment, certification
from tests.tiers.factories import gold, registered, scheme

SYSTEM = Principal.system("portal tests")


@dataclass(frozen=True)
class World:
    """The ids and names the tests look for."""

    harbor_id: str
    harbor_name: str
    quill_id: str
    quill_name: str
    engineer_ids: tuple[str, ...]
    engineer_names: tuple[str, ...]
    quill_person_id: str
    quill_person_name: str
    certification_name: str
    certification_id: str
    award_ids: tuple[str, ...]
    quill_award_id: str


def build_world(
    sessions: sessionmaker[Session],
    *,
    harbor_name: str = "Harbor Analytics GmbH",
    quill_name: str = "Quillfeather Systems",
    person_name: str = "Ada",
    certification_name: str = "Cloud Architect",
) -> World:
    """Two firms with people and awards, and Harbor at Gold."""
    with sessions() as db, db.begin():
        harbor = partner(
            db,
            SYSTEM,
            name=harbor_name,
            status=PartnerStatus.ACTIVE,
            type=PartnerType.RESELLER,
            regions=[Region.EMEA],
        )
        quill = partner(
            db,
            SYSTEM,
            name=quill_name,
            status=PartnerStatus.ONBOARDING,
            type=PartnerType.MSP,
            regions=[Region.APAC],
        )
        cert = certification(
            db, SYSTEM, name=certification_name, track=Track.TECHNICAL, validity_days=60
        )
        engineers = [
            person(db, SYSTEM, partner_id=harbor.id, given_name=person_name, family_name=f"Eng{n}")
            for n in range(2)
        ]
        awards = [
            award(db, SYSTEM, person_id=engineer.id, certification_id=cert.id)
            for engineer in engineers
        ]
        other = person(db, SYSTEM, partner_id=quill.id, given_name="Quentin", family_name="Q")
        other_award = award(db, SYSTEM, person_id=other.id, certification_id=cert.id)
        assessment(db, SYSTEM, person_id=other.id, code="EXAM-QUILL-ONLY")
        scheme(db, SYSTEM, [registered(), gold(grace_days=0)])
        tiers.evaluate_firm(db, SYSTEM, partner_id=harbor.id)
        tiers.evaluate_firm(db, SYSTEM, partner_id=quill.id)
        return World(
            harbor_id=harbor.id,
            harbor_name=harbor.name,
            quill_id=quill.id,
            quill_name=quill.name,
            engineer_ids=tuple(engineer.id for engineer in engineers),
            engineer_names=tuple(engineer.display_name for engineer in engineers),
            quill_person_id=other.id,
            quill_person_name=other.display_name,
            certification_name=cert.name,
            certification_id=cert.id,
            award_ids=tuple(item.id for item in awards),
            quill_award_id=other_award.id,
        )
