"""A holder's own badges: what a signed-in certified person sees and sets about them.

Holders act for themselves only (:meth:`~charter.core.auth.Principal.for_holder`): another
person's award is not found, whatever its id. Each change is an event by the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Principal
from charter.core.errors import Forbidden, NotFound
from charter.core.ids import is_id
from charter.credentials import issuance
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.credentials.rules import effective_status, holder_name_shown
from charter.db.engine import settings_of
from charter.partners import people
from charter.programs.models import Certification

_CURRENT_FIRST = {AwardStatus.ACTIVE: 0, AwardStatus.SUSPENDED: 1}


@dataclass(frozen=True, slots=True)
class HeldBadge:
    """One of the holder's awards, with its certification and its current credential."""

    award_id: str
    status: AwardStatus
    issued_at: datetime
    valid_until: datetime
    certification_name: str
    certification_code: str
    certification_description: str
    credential_id: str | None
    credential_url: str | None
    credential_valid_from: datetime | None
    name_shown: bool


def _person_id(actor: Principal) -> str:
    person_id = actor.holder_person_id
    if person_id is None:
        raise Forbidden("only a signed-in holder sees their own badges here")
    return person_id


def held_badges(db: Session, actor: Principal) -> list[HeldBadge]:
    """The holder's awards, current ones (active, then suspended) first, newest first within."""
    person = people.get_person_record(db, _person_id(actor))
    settings = settings_of(db)
    now = clock.now()
    rows = db.execute(
        select(Award, Certification)
        .join(Certification, Certification.id == Award.certification_id)
        .where(Award.person_id == person.id)
    ).all()
    badges = []
    for award, certification in rows:
        status = effective_status(AwardStatus(award.status), award.valid_until, now)
        credential = issuance.current_credential_for_award(db, award.id, settings=settings)
        badges.append(
            HeldBadge(
                award_id=award.id,
                status=status,
                issued_at=award.issued_at,
                valid_until=award.valid_until,
                certification_name=certification.name,
                certification_code=certification.code,
                certification_description=certification.description,
                credential_id=credential.id if credential else None,
                credential_url=credential.url if credential else None,
                credential_valid_from=credential.valid_from if credential else None,
                name_shown=holder_name_shown(award.show_holder_name, person.show_name_publicly),
            )
        )
    badges.sort(key=lambda badge: badge.award_id)
    badges.sort(key=lambda badge: badge.issued_at, reverse=True)
    badges.sort(key=lambda badge: _CURRENT_FIRST.get(badge.status, 2))
    return badges


def set_name_shown(db: Session, actor: Principal, *, award_id: str, shown: bool) -> Award:
    """Show or hide the holder's name on one of their badges' public page."""
    person = people.get_person_record(db, _person_id(actor))
    award = None
    if is_id(award_id, "awd"):
        award = db.scalar(select(Award).where(Award.id == award_id).with_for_update())
    if award is None or award.person_id != person.id:
        raise NotFound(f"award {award_id[:60]} not found")
    before = holder_name_shown(award.show_holder_name, person.show_name_publicly)
    award.show_holder_name = shown
    db.flush()
    if before != shown:
        events.append(
            db,
            actor,
            "award.name_visibility_changed",
            award,
            partner_id=award.partner_id,
            person_id=person.id,
            name_shown={"from": before, "to": shown},
        )
    return award
