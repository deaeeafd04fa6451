"""Onboarding a firm: each check recorded as done or not, with who, when and a note."""

from __future__ import annotations

from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid
from charter.core.text import storable_text
from charter.partners import rules
from charter.partners.enums import OnboardingCheck, PartnerStatus
from charter.partners.models import Partner
from charter.partners.service import scoped_partner


def _actor_label(actor: Principal) -> str:
    return actor.user_id or actor.id or f"{actor.kind}:{actor.name}"


def set_onboarding_check(
    db: Session,
    actor: Principal,
    *,
    partner_id: str,
    check: OnboardingCheck,
    done: bool,
    note: str | None = None,
) -> Partner:
    """Record one onboarding check as done or not done, with who, when and an optional note."""
    actor.require(Permission.PARTNERS_LIFECYCLE)
    check = OnboardingCheck(check)
    if note is not None:
        try:
            note = storable_text(note, multiline=True) or None
        except ValueError as error:
            raise Invalid.field("note", str(error)) from None
    partner = scoped_partner(db, actor, partner_id, lock=True)
    if partner.status == PartnerStatus.TERMINATED:
        raise Conflict("the partner is terminated; its onboarding can no longer change")
    record = dict(partner.onboarding or rules.empty_onboarding())
    record[check.value] = rules.onboarding_entry(
        done=done, at=clock.now(), by=_actor_label(actor), note=note
    )
    # A new dict, so that the JSON column is seen as changed.
    partner.onboarding = record
    db.flush()
    events.append(
        db,
        actor,
        "partner.onboarding_updated",
        partner,
        partner_id=partner.id,
        check=check.value,
        done=done,
        note=note,
        missing=[item.value for item in rules.missing_onboarding_checks(record)],
    )
    return partner
