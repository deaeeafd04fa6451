"""Partner firms: registering them, their profiles, and their lifecycle of statuses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Forbidden, Invalid
from charter.core.ids import new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate
from charter.core.text import storable_text, text_filter
from charter.partners import rules, taxonomy
from charter.partners.enums import PartnerStatus, TaxonomyKind
from charter.partners.models import Partner, PartnerRegion
from charter.partners.schemas import PartnerCreate, PartnerUpdate, country_code
from charter.partners.service import scoped_partner


def _ensure_partner_external_id_free(
    db: Session, external_id: str, *, except_id: str | None = None
) -> None:
    query = select(Partner.id).where(Partner.external_id == external_id)
    if except_id is not None:
        query = query.where(Partner.id != except_id)
    if db.scalar(query) is not None:
        raise Conflict(f"another partner already has external_id {external_id!r}")


def create_partner(db: Session, actor: Principal, *, data: PartnerCreate) -> Partner:
    """Register a partner firm; it starts as an applicant with no onboarding check done."""
    actor.require(Permission.PARTNERS_WRITE)
    if actor.partner_scope is not None:
        raise Forbidden("partner users cannot register partner firms")
    taxonomy.require_codes(db, TaxonomyKind.PARTNER_TYPE, "type", [data.type])
    taxonomy.require_codes(db, TaxonomyKind.REGION, "regions", data.regions)
    if data.external_id is not None:
        _ensure_partner_external_id_free(db, data.external_id)
    now = clock.now()
    partner = Partner(
        id=new_id("prt"),
        name=data.name,
        type=data.type,
        status=rules.INITIAL_STATUS.value,
        country=data.country,
        website=data.website,
        external_id=data.external_id,
        status_changed_at=now,
        onboarding=rules.empty_onboarding(),
        region_rows=[PartnerRegion(region=region) for region in data.regions],
    )
    db.add(partner)
    db.flush()
    # A draft rather than append(): the payload has a "type" key, which append() takes itself.
    created = events.Draft(
        "partner.created",
        "partner",
        partner.id,
        {
            "name": partner.name,
            "type": partner.type,
            "status": partner.status,
            "regions": partner.regions,
            "country": partner.country,
            "website": partner.website,
            "external_id": partner.external_id,
        },
        partner_id=partner.id,
    )
    events.append_many(db, actor, [created])
    return partner


def _partners_query(
    actor: Principal,
    *,
    status: PartnerStatus | None,
    type: str | None,
    region: str | None,
    country: str | None,
    q: str | None,
    among: Select[str] | None,
) -> Select[Any]:
    query = select(Partner)
    if among is not None:
        query = query.where(Partner.id.in_(among))
    if actor.partner_scope is not None:
        query = query.where(Partner.id == actor.partner_scope)
    if status is not None:
        query = query.where(Partner.status == PartnerStatus(status).value)
    if type is not None:
        query = query.where(Partner.type == type)
    if region is not None:
        query = query.where(
            exists().where(
                PartnerRegion.partner_id == Partner.id,
                PartnerRegion.region == region,
            )
        )
    if country is not None:
        try:
            code = country_code(country)
        except ValueError as error:
            raise Invalid.field("country", str(error)) from None
        query = query.where(Partner.country == code)
    if q is not None:
        query = query.where(Partner.name.icontains(q, autoescape=True))
    return query


def list_partners(
    db: Session,
    actor: Principal,
    *,
    status: PartnerStatus | None = None,
    type: str | None = None,
    region: str | None = None,
    country: str | None = None,
    q: str | None = None,
    among: Select[str] | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Partner]:
    """Partner firms matching every filter given, by id (creation order), one page at a time.

    ``among`` selects the ids of the firms to consider: a filter of a higher domain (the tier
    a firm holds), which this module cannot express itself.
    """
    actor.require(Permission.PARTNERS_READ)
    check_cursor(cursor)
    taxonomy.require_known(db, TaxonomyKind.PARTNER_TYPE, "type", type)
    taxonomy.require_known(db, TaxonomyKind.REGION, "region", region)
    query = _partners_query(
        actor,
        status=status,
        type=type,
        region=region,
        country=text_filter(country, "country"),
        q=text_filter(q, "q"),
        among=among,
    )
    return paginate(db, query, Partner.id, cursor=cursor, limit=limit)


def update_partner(
    db: Session, actor: Principal, *, partner_id: str, data: PartnerUpdate
) -> Partner:
    """Change a firm's profile (not its status or onboarding, which have their own calls)."""
    actor.require(Permission.PARTNERS_WRITE)
    partner = scoped_partner(db, actor, partner_id, lock=True)
    given = data.model_fields_set
    changes: dict[str, dict[str, Any]] = {}

    def change(field: str, old: Any, new: Any) -> None:
        if old != new:
            changes[field] = {"from": old, "to": new}

    if "external_id" in given and data.external_id != partner.external_id:
        if data.external_id is not None:
            _ensure_partner_external_id_free(db, data.external_id, except_id=partner.id)
        change("external_id", partner.external_id, data.external_id)
        partner.external_id = data.external_id
    if "name" in given and data.name is not None:
        change("name", partner.name, data.name)
        partner.name = data.name
    if "type" in given and data.type is not None:
        taxonomy.require_codes(
            db, TaxonomyKind.PARTNER_TYPE, "type", [data.type], held=[partner.type]
        )
        change("type", partner.type, data.type)
        partner.type = data.type
    if "country" in given and data.country is not None:
        change("country", partner.country, data.country)
        partner.country = data.country
    if "website" in given:
        change("website", partner.website, data.website)
        partner.website = data.website
    if "regions" in given and data.regions is not None:
        wanted = set(data.regions)
        before = partner.regions
        taxonomy.require_codes(db, TaxonomyKind.REGION, "regions", wanted, held=before)
        # Only add and remove the difference: re-inserting a kept region would clash on its key.
        for row in list(partner.region_rows):
            if row.region not in wanted:
                partner.region_rows.remove(row)
        for region in sorted(wanted - set(before)):
            partner.region_rows.append(PartnerRegion(region=region))
        change("regions", sorted(before), sorted(wanted))
    if not changes:
        return partner
    db.flush()
    events.append(db, actor, "partner.updated", partner, partner_id=partner.id, changes=changes)
    return partner


def change_partner_status(
    db: Session, actor: Principal, *, partner_id: str, status: PartnerStatus, reason: str
) -> Partner:
    """Move a firm along its lifecycle; only the allowed transitions, each with a reason.

    Termination is refused here: a terminated firm's tiers and access are wound up with it,
    which :func:`charter.tiers.flows.terminate_partner` does around :func:`mark_terminated`.
    """
    if PartnerStatus(status) is PartnerStatus.TERMINATED:
        raise Invalid.field(
            "status", "terminating a firm winds it up: use the termination flow (terminate)"
        )
    return _record_status(db, actor, partner_id=partner_id, target=status, reason=reason)


def mark_terminated(db: Session, actor: Principal, *, partner_id: str, reason: str) -> Partner:
    """Record a firm as terminated (its row locked); the termination flow winds up the rest."""
    return _record_status(
        db, actor, partner_id=partner_id, target=PartnerStatus.TERMINATED, reason=reason
    )


def _record_status(
    db: Session, actor: Principal, *, partner_id: str, target: PartnerStatus, reason: str
) -> Partner:
    actor.require(Permission.PARTNERS_LIFECYCLE)
    try:
        why = storable_text(reason, multiline=True)
    except ValueError as error:
        raise Invalid.field("reason", str(error)) from None
    if not why:
        raise Invalid.field("reason", "say why the status changes")
    target = PartnerStatus(target)
    partner = scoped_partner(db, actor, partner_id, lock=True)
    current = PartnerStatus(partner.status)
    refusal = rules.transition_refusal(current, target, partner.onboarding)
    if refusal is not None:
        allowed = [option.value for option in rules.allowed_transitions(current)]
        raise Conflict(refusal, current_status=current.value, allowed=allowed)
    partner.status = target.value
    partner.status_reason = why
    partner.status_changed_at = clock.now()
    db.flush()
    events.append(
        db,
        actor,
        "partner.status_changed",
        partner,
        partner_id=partner.id,
        **{"from": current.value, "to": target.value, "reason": why},
    )
    return partner
