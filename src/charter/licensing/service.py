"""Licenses: issued under a firm's signed agreement, with a key shown once, and their lifecycle.

A license is ``active``, ``suspended``, ``expired``, ``revoked`` or ``terminated``; every
change is an event carrying its reason. Revoking, terminating or recording the expiry of a
license frees the seats its activations hold (:mod:`charter.licensing.seats`); suspending
keeps them. An active license past its term reads as expired at
once; :func:`expire_due_licenses` records the change (the worker runs it). What a license
entitles its holder to is the agreement's features and the firm's current tier benefits,
stored on the license and recomputed by :func:`refresh_entitlements`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate_rows
from charter.core.text import text_filter
from charter.db.engine import settings_of
from charter.db.unique import insert_unique
from charter.licensing import agreements, keyformat, keystore, rules, seats
from charter.licensing.enums import AgreementStatus, LicenseStatus
from charter.licensing.models import Agreement, AgreementTemplate, AgreementVersion, License
from charter.licensing.schemas import LicenseCreate
from charter.partners import service as partners
from charter.partners.enums import PartnerStatus
from charter.tiers import standings

ISSUING_STATUSES = frozenset({PartnerStatus.ACTIVE.value})


def _terms_of(db: Session, agreement: Agreement) -> rules.Terms:
    version = db.get(AgreementVersion, agreement.version_id)
    assert version is not None  # a foreign key
    return rules.Terms.model_validate(version.terms)


def tier_benefits(db: Session, *, partner_id: str, at: datetime) -> list[str]:
    """The entitlements the tiers a firm holds now give it, in every program."""
    held = standings.held_tiers(db, partner_id=partner_id, at=at)
    return sorted(
        {
            entitlement
            for item in held.values()
            if item.tier is not None
            for entitlement in item.tier.benefits.entitlements
        }
    )


def refresh_entitlements(db: Session, license: License, *, actor: Principal | None = None) -> bool:
    """Recompute what ``license`` entitles to (its agreement's features and its firm's tier
    benefits now); store it and record ``license.entitlements_changed`` if it changed.

    Returns whether it changed. For anything that changes a firm's tier or a license's
    agreement; the caller owns the transaction.
    """
    agreement = db.get(Agreement, license.agreement_id)
    assert agreement is not None  # a foreign key
    now = clock.now()
    wanted = rules.entitlements(
        _terms_of(db, agreement).features,
        tier_benefits(db, partner_id=license.partner_id, at=now),
    )
    before = list(license.entitlements)
    if wanted == before:
        return False
    license.entitlements = wanted
    db.flush()
    events.append(
        db,
        actor or Principal.system("licensing"),
        "license.entitlements_changed",
        license,
        partner_id=license.partner_id,
        added=sorted(set(wanted) - set(before)),
        removed=sorted(set(before) - set(wanted)),
        entitlements=wanted,
    )
    return True


def _within(field: str, allowed: list[str], asked: list[str], what: str) -> None:
    for item in rules.covers(allowed, asked):
        position = asked.index(item)
        raise Invalid.field(
            f"{field}.{position}", f"the agreement's territory has no {what} {item}"
        )


LAST_YEAR = 2999


def _within_calendar(until: datetime) -> None:
    # Terms are added to it later: far enough from the calendar's end that they always fit.
    if until.year > LAST_YEAR:
        raise Invalid.field("valid_until", f"must be in the year {LAST_YEAR} or before")


def issue_license(db: Session, actor: Principal, *, data: LicenseCreate) -> tuple[License, str]:
    """Issue a license under a firm's signed agreement; returns it with its key, which is
    stored only as a keyed hash and sealed, and shown in full this once."""
    actor.require(Permission.LICENSES_MANAGE)
    agreement = agreements.agreement_row(db, actor, data.agreement_id, field="agreement_id")
    if agreement.status != AgreementStatus.ACTIVE.value:
        raise Conflict(
            f"agreement {agreement.id} is {agreement.status}: issue under the firm's current one"
        )
    partner = partners.scoped_partner(db, actor, agreement.partner_id, lock=True)
    if partner.status not in ISSUING_STATUSES:
        raise Conflict(f"partner {partner.name} is {partner.status}: licenses go to active firms")
    terms = _terms_of(db, agreement)
    template = db.get(AgreementTemplate, agreement.template_id)
    assert template is not None  # a foreign key
    territory = terms.territory
    regions = list(data.regions or territory.regions)
    _within("regions", list(territory.regions), regions, "region")
    countries = list(data.countries) if data.countries is not None else list(territory.countries)
    _within("countries", territory.countries, countries, "country")
    if not regions and not countries:
        raise Invalid.field("regions", "a license covers at least one region or country")
    now = clock.now()
    valid_until = data.valid_until or rules.add_months(now, terms.term.months)
    if valid_until <= now:
        raise Invalid.field("valid_until", "must be in the future")
    _within_calendar(valid_until)
    settings = settings_of(db)
    key = keyformat.generate()
    license = License(
        id=new_id("lic"),
        partner_id=partner.id,
        agreement_id=agreement.id,
        product_id=template.product_id,
        key_hash=keystore.lookup_hash(settings, key),
        key_prefix=keyformat.display_prefix(key),
        key_sealed=b"",
        seats=data.seats,
        seat_model=data.seat_model.value,
        entitlements=rules.entitlements(
            terms.features, tier_benefits(db, partner_id=partner.id, at=now)
        ),
        regions=sorted(set(regions)),
        countries=sorted(set(countries)),
        status=LicenseStatus.ACTIVE.value,
        status_reason=None,
        status_changed_at=now,
        valid_from=now,
        valid_until=valid_until,
        renewed_at=None,
    )
    license.key_sealed = keystore.seal(settings, license.id, key)
    # 100 random bits: a collision is not expected, but the unique index has the last word.
    insert_unique(db, license, "a license key collided with another; issue again")
    events.append(
        db,
        actor,
        "license.issued",
        license,
        partner_id=partner.id,
        agreement_id=agreement.id,
        product_id=license.product_id,
        key_prefix=license.key_prefix,
        seats=license.seats,
        seat_model=license.seat_model,
        entitlements=license.entitlements,
        regions=license.regions,
        countries=license.countries,
        valid_until=license.valid_until,
    )
    return license, key


def _license(db: Session, actor: Principal, license_id: str, *, lock: bool = False) -> License:
    found = None
    if is_id(license_id, "lic"):
        query = select(License).where(License.id == license_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        found = db.scalar(query)
    if found is None or (
        actor.partner_scope is not None and found.partner_id != actor.partner_scope
    ):
        raise NotFound(f"license {license_id} not found")
    return found


def status_of(license: License, at: datetime | None = None) -> LicenseStatus:
    """A license's status at ``at`` (now): past its term, an active license is expired."""
    return rules.effective_status(
        LicenseStatus(license.status), license.valid_until, at or clock.now()
    )


def get_license(db: Session, actor: Principal, *, license_id: str) -> License:
    """A license; partner users see their own firm's only."""
    actor.require(Permission.LICENSES_READ)
    return _license(db, actor, license_id)


def find_license_by_key(db: Session, actor: Principal, *, key: str) -> License:
    """The license a typed key belongs to (case, hyphens and look-alikes forgiven).

    :class:`Invalid` naming ``key`` when it cannot be a key (a typo the check character
    catches), :class:`NotFound` when no license has it.
    """
    actor.require(Permission.LICENSES_READ)
    try:
        canonical = keyformat.normalize(key)
    except keyformat.MalformedKey as error:
        raise Invalid.field("key", str(error)) from None
    digest = keystore.lookup_hash(settings_of(db), canonical)
    found = db.scalar(select(License).where(License.key_hash == digest))
    if found is None or (
        actor.partner_scope is not None and found.partner_id != actor.partner_scope
    ):
        raise NotFound("no license has this key")
    return found


def reveal_key(db: Session, actor: Principal, *, license_id: str) -> str:
    """A license's full key, for the firm's admin (and the vendor's license managers); the
    reading is recorded."""
    actor.require(Permission.LICENSE_KEYS_READ)
    license = _license(db, actor, license_id)
    key = keystore.unseal(settings_of(db), license.id, license.key_sealed)
    events.append(
        db,
        actor,
        "license.key_viewed",
        license,
        partner_id=license.partner_id,
        key_prefix=license.key_prefix,
    )
    return key


def _status_is(status: LicenseStatus, now: datetime) -> ColumnElement[bool]:
    if status is LicenseStatus.ACTIVE:
        return and_(License.status == status.value, License.valid_until > now)
    if status is LicenseStatus.EXPIRED:
        return or_(
            License.status == status.value,
            and_(License.status == LicenseStatus.ACTIVE.value, License.valid_until <= now),
        )
    return License.status == status.value


_LISTED = tuple(
    column for column in License.__table__.columns if column.name not in {"key_hash", "key_sealed"}
)


def list_licenses(
    db: Session,
    actor: Principal,
    *,
    partner_id: str | None = None,
    product_id: str | None = None,
    agreement_id: str | None = None,
    status: LicenseStatus | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[dict[str, Any]]:
    """Licenses, oldest first, filtered; partner users see their own firm's only. Each row's
    ``status`` is the status now (an active license past its term is expired)."""
    actor.require(Permission.LICENSES_READ)
    check_cursor(cursor)
    partner_id = text_filter(partner_id, "partner_id")
    product_id = text_filter(product_id, "product_id")
    agreement_id = text_filter(agreement_id, "agreement_id")
    scope = actor.partner_scope
    if scope is not None and partner_id is not None and partner_id != scope:
        return Page([], None)
    now = clock.now()
    query = select(*_LISTED)
    firm = scope or partner_id
    if firm is not None:
        query = query.where(License.partner_id == firm)
    if product_id is not None:
        query = query.where(License.product_id == product_id)
    if agreement_id is not None:
        query = query.where(License.agreement_id == agreement_id)
    if status is not None:
        query = query.where(_status_is(status, now))
    page = paginate_rows(db, query, License.id, cursor=cursor, limit=limit)
    for row in page.items:
        row["status"] = rules.effective_status(
            LicenseStatus(row["status"]), row["valid_until"], now
        ).value
    return page


def _change(
    db: Session,
    actor: Principal,
    license: License,
    action: str,
    *,
    reason: str,
    before: LicenseStatus | None = None,
    **payload: Any,
) -> License:
    now = clock.now()
    if before is None:
        # Expiry records what the stored status lacks; every other change starts from the
        # status as it reads now.
        stored = LicenseStatus(license.status)
        before = stored if action == "expire" else status_of(license, now)
    try:
        after = rules.transition(before, action)
    except ValueError as error:
        raise Conflict(str(error)) from None
    license.status = after.value
    license.status_reason = reason
    license.status_changed_at = now
    db.flush()
    events.append(
        db,
        actor,
        f"license.{rules.past_tense(action)}",
        license,
        partner_id=license.partner_id,
        from_status=before.value,
        to_status=after.value,
        reason=reason,
        **payload,
    )
    if after in seats.ENDING_STATUSES:
        seats.release_all(db, actor, license, after, reason=reason)
    return license


def suspend_license(db: Session, actor: Principal, *, license_id: str, reason: str) -> License:
    """Suspend an active license (reinstated later, or revoked)."""
    actor.require(Permission.LICENSES_MANAGE)
    return _change(db, actor, _license(db, actor, license_id, lock=True), "suspend", reason=reason)


def reinstate_license(db: Session, actor: Principal, *, license_id: str, reason: str) -> License:
    """Lift a suspension; a license whose term ended meanwhile is then expired."""
    actor.require(Permission.LICENSES_MANAGE)
    license = _change(
        db, actor, _license(db, actor, license_id, lock=True), "reinstate", reason=reason
    )
    if status_of(license) is LicenseStatus.EXPIRED:
        _change(db, actor, license, "expire", reason="its term ended while it was suspended")
    return license


def revoke_license(db: Session, actor: Principal, *, license_id: str, reason: str) -> License:
    """Revoke a license for good."""
    actor.require(Permission.LICENSES_MANAGE)
    return _change(db, actor, _license(db, actor, license_id, lock=True), "revoke", reason=reason)


def terminate_license(db: Session, actor: Principal, *, license_id: str, reason: str) -> License:
    """End a license because its agreement or its firm ended (for good)."""
    actor.require(Permission.LICENSES_MANAGE)
    return _change(
        db, actor, _license(db, actor, license_id, lock=True), "terminate", reason=reason
    )


def renew_license(
    db: Session,
    actor: Principal,
    *,
    license_id: str,
    valid_until: datetime | None = None,
    reason: str = "renewal",
) -> License:
    """Extend a license's term: to ``valid_until``, or by its agreement's term from its current
    end (from now, once that has passed). An agreement since superseded by a newer version the
    firm signed is replaced by that one, and the entitlements follow."""
    actor.require(Permission.LICENSES_MANAGE)
    license = _license(db, actor, license_id, lock=True)
    agreement = db.get(Agreement, license.agreement_id)
    assert agreement is not None  # a foreign key
    if agreement.status != AgreementStatus.ACTIVE.value:
        current = db.scalar(
            select(Agreement).where(
                Agreement.partner_id == license.partner_id,
                Agreement.template_id == agreement.template_id,
                Agreement.status == AgreementStatus.ACTIVE.value,
            )
        )
        if current is None:
            raise Conflict("the firm holds no agreement in force on this license's template")
        agreement = current
    now = clock.now()
    before = status_of(license, now)
    try:
        rules.transition(before, "renew")
    except ValueError as error:
        raise Conflict(str(error)) from None
    start = max(license.valid_until, now)
    until = valid_until or rules.add_months(start, _terms_of(db, agreement).term.months)
    if until <= start:
        raise Invalid.field(
            "valid_until", f"must be after {start.isoformat()}, when the license would end"
        )
    _within_calendar(until)
    previous_until = license.valid_until
    moved = agreement.id != license.agreement_id
    license.agreement_id = agreement.id
    license.valid_until = until
    license.renewed_at = now
    _change(
        db,
        actor,
        license,
        "renew",
        reason=reason,
        before=before,
        previous_valid_until=previous_until,
        valid_until=until,
        agreement_id=agreement.id,
    )
    if moved:
        refresh_entitlements(db, license, actor=actor)
    return license


def expire_due_licenses(db: Session, actor: Principal, *, at: datetime | None = None) -> int:
    """Record ``license.expired`` for every active license whose term has ended; how many."""
    actor.require(Permission.LICENSES_MANAGE)
    now = at or clock.now()
    due = db.scalars(
        select(License)
        .where(License.status == LicenseStatus.ACTIVE.value, License.valid_until <= now)
        .order_by(License.id)
        .with_for_update()
    ).all()
    for license in due:
        _change(
            db, actor, license, "expire", reason="its term ended", valid_until=license.valid_until
        )
    return len(due)
