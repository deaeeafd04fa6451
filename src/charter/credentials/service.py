"""Awards: issuing against the criteria in force, status changes, renewal and expiry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, exists, or_, select, union
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import (
    CharterError,
    Conflict,
    CriteriaNotMet,
    FieldError,
    Invalid,
    NotFound,
)
from charter.core.ids import is_id, new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate_rows
from charter.core.text import text_filter
from charter.credentials import documents, eligibility, issuance
from charter.credentials.bulk.pipeline import issue_credentials_bulk
from charter.credentials.enums import AwardStatus, SubjectType
from charter.credentials.models import Award
from charter.credentials.rules import LIVE_STATUSES, effective_status, renewal_refusal
from charter.credentials.schemas import AwardCreate
from charter.db.engine import settings_of
from charter.db.unique import insert_unique
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.partners.models import PartnerRegion, Person
from charter.programs import service as programs
from charter.programs.models import Certification

_LIVE = [status.value for status in LIVE_STATUSES]


def effective_status_of(award: Award, at: datetime | None = None) -> AwardStatus:
    """The award's status as users see it now (expired once ``valid_until`` has passed)."""
    return effective_status(AwardStatus(award.status), award.valid_until, at or clock.now())


def _certification_for(db: Session, certification_id: str) -> Certification:
    try:
        return programs.get_certification(db, Principal.system(), certification_id=certification_id)
    except NotFound:
        raise Invalid.field(
            "certification_id", f"no certification with id {certification_id}"
        ) from None


def _clean_override(actor: Principal, override_reason: str | None) -> str | None:
    if override_reason is None:
        return None
    reason = override_reason.strip()
    if not reason:
        raise Invalid.field("override_reason", "an override needs a reason")
    actor.require(Permission.AWARDS_OVERRIDE)
    return reason


def _clean_reason(reason: str | None, *, required: bool) -> str | None:
    cleaned = (reason or "").strip()
    if "\x00" in cleaned:
        raise Invalid.field("reason", "must not contain NUL characters")
    if required and not cleaned:
        raise Invalid.field("reason", "a reason is required")
    return cleaned or None


def _expire(award: Award) -> dict[str, Any]:
    previous = award.status
    award.status = AwardStatus.EXPIRED.value
    award.status_changed_at = award.valid_until
    award.status_reason = None
    return {
        "person_id": award.person_id,
        "certification_id": award.certification_id,
        "valid_until": award.valid_until,
        "previous_status": previous,
    }


def _criteria_not_met(
    certification: Certification, result: eligibility.CriteriaResult, what: str
) -> CriteriaNotMet:
    return CriteriaNotMet(
        f"cannot {what}: criteria version {result.criteria_version} of "
        f"{certification.code} not met ({'; '.join(result.unmet)})",
        result.unmet,
    )


def issue_award(db: Session, actor: Principal, *, data: AwardCreate) -> Award:
    """Award a certification to a person who meets the criteria in force now.

    An admin may override unmet criteria with a reason, which is stored and logged.
    """
    award = _create_award(db, actor, data)
    # Signed in the same transaction: an award never exists without its credential.
    issuance.issue_credential(db, actor, award=award, settings=settings_of(db))
    return award


MAX_BATCH = 1000


def issue_awards_batch(db: Session, actor: Principal, *, items: list[AwardCreate]) -> list[Award]:
    """Issue several awards at once: all of them, or none with every refusal listed.

    Each item is judged exactly as :func:`issue_award` judges one; the credentials are then
    signed together, on both cores for large batches.
    """
    actor.require(Permission.AWARDS_ISSUE)
    if not 1 <= len(items) <= MAX_BATCH:
        raise Invalid.field("items", f"must hold between 1 and {MAX_BATCH} awards")
    created: list[Award] = []
    errors: list[FieldError] = []
    for index, item in enumerate(items):
        try:
            with db.begin_nested():
                created.append(_create_award(db, actor, item))
        except CharterError as error:
            errors.append(FieldError(f"items.{index}", error.detail))
    if errors:
        raise Invalid(f"{len(errors)} of {len(items)} awards cannot be issued", errors)
    issue_credentials_bulk(db, actor, created, settings_of(db))
    return created


def _create_award(db: Session, actor: Principal, data: AwardCreate) -> Award:
    """The award row and its event, without the credential."""
    actor.require(Permission.AWARDS_ISSUE)
    override_reason = _clean_override(actor, data.override_reason)
    person = programs.person_for(db, actor, person_id=data.person_id, field="person_id")
    certification = _certification_for(db, data.certification_id)
    if certification.retired_at is not None:
        raise Conflict(f"certification {certification.code} is retired")
    now = clock.now()
    pair = (Award.person_id == person.id, Award.certification_id == certification.id)
    stale = db.scalars(
        select(Award).where(*pair, Award.status.in_(_LIVE), Award.valid_until <= now)
    ).all()
    for old in stale:
        # Expire it now, so that the person can earn the certification again.
        events.append(db, actor, "award.expired", old, partner_id=old.partner_id, **_expire(old))
    live = db.scalar(select(Award).where(*pair, Award.status.in_(_LIVE)))
    duplicate = (
        f"{person.display_name} already holds a {live.status} award of {certification.code} "
        f"({live.id})"
        if live is not None
        else f"{person.display_name} already holds an award of {certification.code}"
    )
    if live is not None:
        raise Conflict(duplicate)
    if data.external_id is not None and db.scalar(
        select(Award.id).where(Award.external_id == data.external_id)
    ):
        raise Conflict(f"an award with external_id {data.external_id} already exists")
    result = eligibility.evaluate_criteria(
        db, person_id=person.id, certification_id=certification.id, at=now
    )
    if not result.met and override_reason is None:
        raise _criteria_not_met(certification, result, f"award {certification.code}")
    award = Award(
        id=new_id("awd"),
        certification_id=certification.id,
        criteria_version_id=result.criteria_version_id,
        subject_type=SubjectType.PERSON.value,
        person_id=person.id,
        partner_id=person.partner_id,
        status=AwardStatus.ACTIVE.value,
        issued_at=now,
        valid_until=now + timedelta(days=certification.validity_days),
        override_reason=override_reason,
        renewal_count=0,
        external_id=data.external_id,
    )
    insert_unique(db, award, duplicate)
    events.append(
        db,
        actor,
        "award.issued",
        award,
        partner_id=award.partner_id,
        person_id=person.id,
        certification_id=certification.id,
        certification_code=certification.code,
        criteria_version_id=result.criteria_version_id,
        criteria_version=result.criteria_version,
        valid_until=award.valid_until,
        override=override_reason is not None,
        override_reason=override_reason,
        unmet_overridden=result.unmet if override_reason is not None else [],
        external_id=award.external_id,
    )
    return award


def _visible(db: Session, actor: Principal, award: Award) -> bool:
    scope = actor.partner_scope
    if scope is None or award.partner_id == scope:
        return True
    holder = db.get(Person, award.person_id) if award.person_id else None
    return holder is not None and holder.partner_id == scope


def _award(db: Session, actor: Principal, award_id: str, *, lock: bool = False) -> Award:
    award = None
    if is_id(award_id, "awd"):
        query = select(Award).where(Award.id == award_id)
        if lock:
            query = query.with_for_update()
        award = db.scalar(query)
    if award is None or not _visible(db, actor, award):
        raise NotFound(f"award {award_id} not found")
    return award


def get_award(db: Session, actor: Principal, *, award_id: str) -> Award:
    """An award; partner users see those of people now at their firm or earned there."""
    actor.require(Permission.AWARDS_READ)
    return _award(db, actor, award_id)


class CredentialLink(NamedTuple):
    """Where an award's current credential is: its id and its public URL."""

    id: str
    url: str


def credential_links(
    db: Session, actor: Principal, *, award_ids: Iterable[str]
) -> dict[str, CredentialLink]:
    """The current credential of each of these awards that has one, for readers of awards.

    The caller has read the awards already (this does not check their firm): the links add
    nothing a credential's public page does not show.
    """
    actor.require(Permission.AWARDS_READ)
    settings = settings_of(db)
    return {
        award_id: CredentialLink(credential_id, documents.credential_url(settings, credential_id))
        for award_id, credential_id in issuance.current_credential_ids(db, award_ids).items()
    }


def _status_is(status: AwardStatus, now: datetime) -> ColumnElement[bool]:
    if status is AwardStatus.EXPIRED:
        return or_(
            Award.status == AwardStatus.EXPIRED.value,
            and_(Award.status.in_(_LIVE), Award.valid_until <= now),
        )
    if status in LIVE_STATUSES:
        return and_(Award.status == status.value, Award.valid_until > now)
    return Award.status == status.value


def of_firm(partner_id: str) -> ColumnElement[bool]:
    """Awards earned at the firm or held by the people working there now.

    Spelled as ids from two index lookups, not ``awards.partner_id = :firm OR
    people.partner_id = :firm`` over a join, which no index serves: with a million awards that
    read every one of them for a firm's page.
    """
    earned = select(Award.id).where(Award.partner_id == partner_id)
    held = (
        select(Award.id)
        .join(Person, Person.id == Award.person_id)
        .where(Person.partner_id == partner_id)
    )
    return Award.id.in_(union(earned, held))


def list_awards(
    db: Session,
    actor: Principal,
    *,
    partner_id: str | None = None,
    person_id: str | None = None,
    status: AwardStatus | None = None,
    track: str | None = None,
    region: str | None = None,
    certification_id: str | None = None,
    expiring_before: datetime | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[dict[str, Any]]:
    """Awards, oldest first, filtered by their effective status and the rest.

    Each item is the award's row as a dict (the columns of :class:`Award`), with ``status``
    the effective one and ``credential_id`` its current credential's (``None`` if it has
    none): a list goes straight out as JSON, and building ORM objects for it would cost more
    than reading it.

    ``partner_id`` and ``region`` match the firm the holder works for now as well as the
    firm the award was earned at; ``expiring_before`` matches ``valid_until`` before it.
    """
    actor.require(Permission.AWARDS_READ)
    check_cursor(cursor)
    taxonomy.require_known(db, TaxonomyKind.TRACK, "track", track)
    taxonomy.require_known(db, TaxonomyKind.REGION, "region", region)
    partner_id = text_filter(partner_id, "partner_id")
    person_id = text_filter(person_id, "person_id")
    certification_id = text_filter(certification_id, "certification_id")
    now = clock.now()
    # Filtering on the holder's current firm and its regions needs the partners tables in
    # the query itself; going through the partners service would mean loading every person.
    query = select(
        *Award.__table__.columns,
        issuance.current_credential_id(Award.id).label("credential_id"),
    ).outerjoin(Person, Person.id == Award.person_id)
    for firm in {actor.partner_scope, partner_id}:
        if firm is not None:
            query = query.where(of_firm(firm))
    if person_id is not None:
        query = query.where(Award.person_id == person_id)
    if certification_id is not None:
        query = query.where(Award.certification_id == certification_id)
    if status is not None:
        query = query.where(_status_is(status, now))
    if track is not None:
        query = query.where(
            Award.certification_id.in_(select(Certification.id).where(Certification.track == track))
        )
    if region is not None:
        query = query.where(
            exists().where(
                PartnerRegion.region == region,
                PartnerRegion.partner_id.in_([Award.partner_id, Person.partner_id]),
            )
        )
    if expiring_before is not None:
        query = query.where(Award.valid_until < clock.ensure_utc(expiring_before))
    page = paginate_rows(db, query, Award.id, cursor=cursor, limit=limit)
    for row in page.items:
        row["status"] = effective_status(AwardStatus(row["status"]), row["valid_until"], now)
    return page


def _change_status(
    db: Session,
    actor: Principal,
    award: Award,
    status: AwardStatus,
    event_type: str,
    reason: str | None,
) -> Award:
    previous = effective_status_of(award)
    award.status = status.value
    award.status_reason = reason
    award.status_changed_at = clock.now()
    db.flush()
    events.append(
        db,
        actor,
        event_type,
        award,
        partner_id=award.partner_id,
        person_id=award.person_id,
        certification_id=award.certification_id,
        previous_status=previous,
        reason=reason,
    )
    return award


def revoke_award(db: Session, actor: Principal, *, award_id: str, reason: str) -> Award:
    """Revoke an award for good (from active, suspended or expired); a reason is required."""
    actor.require(Permission.AWARDS_REVOKE)
    cleaned = _clean_reason(reason, required=True)
    award = _award(db, actor, award_id, lock=True)
    if award.status == AwardStatus.REVOKED.value:
        raise Conflict("award is already revoked")
    _change_status(db, actor, award, AwardStatus.REVOKED, "award.revoked", cleaned)
    issuance.revoke_for_award(db, actor, award=award, reason=cleaned)
    return award


def suspend_award(db: Session, actor: Principal, *, award_id: str, reason: str) -> Award:
    """Suspend an active award until it is reinstated or revoked; a reason is required."""
    actor.require(Permission.AWARDS_REVOKE)
    cleaned = _clean_reason(reason, required=True)
    award = _award(db, actor, award_id, lock=True)
    current = effective_status_of(award)
    if current is not AwardStatus.ACTIVE:
        raise Conflict(f"only an active award can be suspended; this one is {current.value}")
    _change_status(db, actor, award, AwardStatus.SUSPENDED, "award.suspended", cleaned)
    issuance.suspend_for_award(db, actor, award=award, reason=cleaned)
    return award


def reinstate_award(
    db: Session, actor: Principal, *, award_id: str, reason: str | None = None
) -> Award:
    """Make a suspended award active again (if it has not expired meanwhile)."""
    actor.require(Permission.AWARDS_REVOKE)
    cleaned = _clean_reason(reason, required=False)
    award = _award(db, actor, award_id, lock=True)
    current = effective_status_of(award)
    if current is not AwardStatus.SUSPENDED:
        raise Conflict(f"only a suspended award can be reinstated; this one is {current.value}")
    _change_status(db, actor, award, AwardStatus.ACTIVE, "award.reinstated", cleaned)
    issuance.reinstate_for_award(db, actor, award=award, reason=cleaned)
    return award


def renew_award(
    db: Session, actor: Principal, *, award_id: str, override_reason: str | None = None
) -> Award:
    """Renew an active award inside its renewal window, against the criteria in force now.

    The new validity runs on from the old ``valid_until``, so renewing early loses nothing.
    """
    actor.require(Permission.AWARDS_ISSUE)
    override = _clean_override(actor, override_reason)
    award = _award(db, actor, award_id, lock=True)
    certification = _certification_for(db, award.certification_id)
    now = clock.now()
    refusal = renewal_refusal(
        AwardStatus(award.status), award.valid_until, certification.renewal_window_days, now
    )
    if refusal is not None:
        raise Conflict(refusal)
    if certification.retired_at is not None:
        raise Conflict(f"certification {certification.code} is retired; it cannot be renewed")
    if award.person_id is None:
        raise Conflict("only a person's award can be renewed here")
    result = eligibility.evaluate_criteria(
        db, person_id=award.person_id, certification_id=certification.id, at=now
    )
    if not result.met and override is None:
        raise _criteria_not_met(certification, result, f"renew {certification.code}")
    previous_until = award.valid_until
    award.valid_until = previous_until + timedelta(days=certification.validity_days)
    award.renewed_at = now
    award.renewal_count += 1
    award.criteria_version_id = result.criteria_version_id
    if override is not None:
        award.override_reason = override
    db.flush()
    events.append(
        db,
        actor,
        "award.renewed",
        award,
        partner_id=award.partner_id,
        person_id=award.person_id,
        certification_id=certification.id,
        certification_code=certification.code,
        criteria_version_id=result.criteria_version_id,
        criteria_version=result.criteria_version,
        previous_valid_until=previous_until,
        valid_until=award.valid_until,
        renewal_count=award.renewal_count,
        override=override is not None,
        override_reason=override,
        unmet_overridden=result.unmet if override is not None else [],
    )
    # validUntil is signed into the credential, so a renewal needs a new one.
    issuance.reissue_for_award(db, actor, award=award, reason="superseded by renewal")
    return award


def expire_due_awards(db: Session, actor: Principal, *, at: datetime | None = None) -> int:
    """Store the expiry of every live award past ``valid_until``; returns how many expired."""
    actor.require(Permission.AWARDS_ISSUE)
    at = at or clock.now()
    # SKIP LOCKED lets several workers sweep at once without expiring an award twice.
    due = list(
        db.scalars(
            select(Award)
            .where(Award.status.in_(_LIVE), Award.valid_until <= at)
            .order_by(Award.id)
            .with_for_update(skip_locked=True)
        )
    )
    drafts = [
        events.Draft("award.expired", "award", award.id, _expire(award), award.partner_id)
        for award in due
    ]
    db.flush()
    events.append_many(db, actor, drafts)
    return len(due)
