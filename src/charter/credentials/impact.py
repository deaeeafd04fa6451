"""Who a criteria version affects: the holders of live awards, judged against it.

A new version binds holders when they renew; this tells a program manager, before and after
publishing, which holders already meet it and what the others lack. It lives with credentials
because holders are the people with live awards; criteria and evidence are the programs
domain's, read through its service and bulk lookups.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.errors import NotFound
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.credentials.rules import LIVE_STATUSES
from charter.partners.models import Person
from charter.programs import service as programs
from charter.programs.lookups import evidence_by_person
from charter.programs.models import Certification
from charter.programs.rules import Requirements, check_requirements

MAX_HOLDERS = 2000
"""Holders judged on one page; a certification held by more is summarised by the first."""

_LIVE = [status.value for status in LIVE_STATUSES]


@dataclass(frozen=True, slots=True)
class AffectedHolder:
    """A holder of a live award and what the criteria version would leave unmet."""

    person_id: str
    person_name: str
    partner_id: str | None
    award_id: str
    valid_until: datetime
    unmet: list[str]

    @property
    def meets(self) -> bool:
        """Whether the holder already meets the version."""
        return not self.unmet


@dataclass(slots=True)
class CriteriaImpact:
    """A criteria version judged against every live holder at the time it takes effect."""

    certification_id: str
    criteria_version_id: str
    version: int
    judged_at: datetime
    holders: list[AffectedHolder] = field(default_factory=list)
    truncated: bool = False

    @property
    def falling_short(self) -> list[AffectedHolder]:
        """The holders who would not meet the version."""
        return [holder for holder in self.holders if not holder.meets]


def _held_codes(db: Session, person_ids: list[str], at: datetime) -> dict[str, set[str]]:
    held: dict[str, set[str]] = defaultdict(set)
    if not person_ids:
        return held
    query = (
        select(Award.person_id, Certification.code)
        .join(Certification, Certification.id == Award.certification_id)
        .where(
            Award.person_id.in_(person_ids),
            Award.status == AwardStatus.ACTIVE.value,
            Award.issued_at <= at,
            Award.valid_until > at,
        )
    )
    for person_id, code in db.execute(query):
        held[str(person_id)].add(code)
    return held


def criteria_impact(
    db: Session, actor: Principal, *, certification_id: str, criteria_version_id: str
) -> CriteriaImpact:
    """Judge every live holder of the certification against one of its criteria versions.

    The judgement is made at the version's effective date (or now, if that has passed), with
    the evidence recorded so far. Partner users see only their own firm's holders.
    """
    actor.require(Permission.AWARDS_READ)
    versions = programs.list_criteria(db, actor, certification_id=certification_id)
    version = next((item for item in versions if item.id == criteria_version_id), None)
    if version is None:
        raise NotFound(f"criteria version {criteria_version_id} not found")
    now = clock.now()
    at = max(clock.ensure_utc(version.effective_from), now)
    query = (
        select(
            Award.id,
            Award.valid_until,
            Person.id,
            Person.given_name,
            Person.family_name,
            Person.partner_id,
        )
        .join(Person, Person.id == Award.person_id)
        .where(
            Award.certification_id == version.certification_id,
            Award.status.in_(_LIVE),
            Award.valid_until > now,
        )
        .order_by(Award.id)
        .limit(MAX_HOLDERS + 1)
    )
    if actor.partner_scope is not None:
        query = query.where(Person.partner_id == actor.partner_scope)
    rows = db.execute(query).all()
    impact = CriteriaImpact(
        certification_id=version.certification_id,
        criteria_version_id=version.id,
        version=version.version,
        judged_at=at,
        truncated=len(rows) > MAX_HOLDERS,
    )
    rows = rows[:MAX_HOLDERS]
    person_ids = sorted({str(row[2]) for row in rows})
    evidence = evidence_by_person(db, person_ids)
    held = _held_codes(db, person_ids, at)
    requirements = Requirements.model_validate(version.requirements)
    for award_id, valid_until, person_id, given, family, partner_id in rows:
        unmet = check_requirements(
            requirements, evidence.get(person_id, ()), held.get(person_id, set()), at
        )
        impact.holders.append(
            AffectedHolder(
                person_id=person_id,
                person_name=f"{given} {family}".strip(),
                partner_id=partner_id,
                award_id=award_id,
                valid_until=valid_until,
                unmet=unmet,
            )
        )
    return impact
