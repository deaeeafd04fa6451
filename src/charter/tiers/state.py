"""Reading firms for tier evaluation: a few aggregate queries, for one firm or for all of them.

The state of every firm at once is read set-based (the nightly sweep judges thousands); the
same queries, filtered, read one firm's. Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.core.csvimport import chunks
from charter.core.errors import Invalid, NotFound
from charter.core.ids import is_id
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.partners import rules as partner_rules
from charter.partners.models import Partner, Person
from charter.programs.models import Certification
from charter.tiers.models import TrackRecord
from charter.tiers.rules import FirmState


def scoped_partner(
    db: Session, actor: Principal, partner_id: str, field: str | None = None
) -> Partner:
    """The firm, if the caller may see it: :class:`NotFound`, or :class:`Invalid` on ``field``."""
    found = db.get(Partner, partner_id) if is_id(partner_id, "prt") else None
    if found is None or (actor.partner_scope is not None and found.id != actor.partner_scope):
        if field is not None:
            raise Invalid.field(field, f"no partner with id {partner_id}")
        raise NotFound(f"partner {partner_id} not found")
    return found


@dataclass(frozen=True, slots=True)
class Firm:
    """What evaluation needs of a firm besides its people: name, status, onboarding left."""

    id: str
    name: str
    status: str
    missing_onboarding: tuple[str, ...]


def active_award(now: datetime) -> Any:
    """The condition an award meets when it counts for its holder's firm at ``now``."""
    return and_(
        Award.status == AwardStatus.ACTIVE.value,
        Award.valid_until > now,
        Award.issued_at <= now,
        Award.person_id.is_not(None),
    )


def read_firms(db: Session, partner_ids: Sequence[str] | None) -> list[Firm]:
    """The firms with these ids (``None``: every firm)."""
    query = select(Partner.id, Partner.name, Partner.status, Partner.onboarding)
    if partner_ids is not None:
        query = query.where(Partner.id.in_(partner_ids))
    return [
        Firm(
            id,
            name,
            status,
            tuple(check.value for check in partner_rules.missing_onboarding_checks(onboarding)),
        )
        for id, name, status, onboarding in db.execute(query)
    ]


def read_states(
    db: Session, firms: Sequence[Firm], codes: set[str], now: datetime, *, scoped: bool
) -> dict[str, FirmState]:
    """Every firm's state at ``now``; ``scoped`` filters the queries to ``firms``."""
    ids = [firm.id for firm in firms]
    by_track: dict[str, dict[str, int]] = defaultdict(dict)
    by_code: dict[str, dict[str, int]] = defaultdict(dict)
    records: dict[str, dict[str, float]] = defaultdict(dict)
    people = func.count(Award.person_id.distinct())
    base = (
        select(Person.partner_id)
        .select_from(Award)
        .join(Person, Person.id == Award.person_id)
        .join(Certification, Certification.id == Award.certification_id)
        .where(active_award(now), Person.partner_id.is_not(None))
    )
    parts: Iterable[Sequence[str] | None] = chunks(ids) if scoped else [None]
    for part in parts:
        scope = base if part is None else base.where(Person.partner_id.in_(part))
        track_query = scope.add_columns(Certification.track, people).group_by(
            Person.partner_id, Certification.track
        )
        for partner_id, track, count in db.execute(track_query):
            by_track[partner_id][track] = count
        if codes:
            code_query = (
                scope.add_columns(Certification.code, people)
                .where(Certification.code.in_(sorted(codes)))
                .group_by(Person.partner_id, Certification.code)
            )
            for partner_id, code, count in db.execute(code_query):
                by_code[partner_id][code] = count
        record_query = select(
            TrackRecord.partner_id, TrackRecord.metric, TrackRecord.value
        ).order_by(TrackRecord.recorded_at, TrackRecord.id)
        if part is not None:
            record_query = record_query.where(TrackRecord.partner_id.in_(part))
        for partner_id, metric, value in db.execute(record_query):
            records[partner_id][metric] = value  # later rows overwrite: the latest wins
    return {
        firm.id: FirmState(
            partner_id=firm.id,
            status=firm.status,
            missing_onboarding=firm.missing_onboarding,
            certified_by_track=by_track.get(firm.id, {}),
            certified_by_certification=by_code.get(firm.id, {}),
            track_record=records.get(firm.id, {}),
        )
        for firm in firms
    }
