"""Steps that span domains: each flow calls the lower services in order, in one transaction.

Terminating a firm touches partners (its status), tiers (its badges and standings), accounts
(its users and API keys) and licensing (marked for wind-down on the termination record). Tiers
is the highest of those domains, so the flow lives here and none of the services calls up.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.core import clock
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict
from charter.partners import firms
from charter.partners import service as partners
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner
from charter.tiers import termination
from charter.tiers.schemas import TerminationReport


def terminate_partner(
    db: Session, actor: Principal, *, partner_id: str, reason: str
) -> TerminationReport:
    """Terminate a firm with a reason and return the final report."""
    actor.require(Permission.PARTNERS_LIFECYCLE)
    partner = partners.get_partner(db, actor, partner_id=partner_id)
    if partner.status == PartnerStatus.TERMINATED.value:
        raise Conflict(f"partner {partner.name} is already terminated")
    _terminate(db, actor, partner_id=partner.id, reason=reason)
    return termination.get_report(db, actor, partner_id=partner.id)


def change_partner_status(
    db: Session, actor: Principal, *, partner_id: str, status: PartnerStatus, reason: str
) -> Partner:
    """Move a firm along its lifecycle; to terminated, it is wound up in the same transaction."""
    if PartnerStatus(status) is PartnerStatus.TERMINATED:
        return _terminate(db, actor, partner_id=partner_id, reason=reason)
    return firms.change_partner_status(
        db, actor, partner_id=partner_id, status=status, reason=reason
    )


def _terminate(db: Session, actor: Principal, *, partner_id: str, reason: str) -> Partner:
    """Every step of a termination, in order: a terminated firm's access must not outlive it."""
    # The status change locks the firm's row before anything else is written: a concurrent
    # termination waits for this one, then finds the firm terminated and is refused.
    partner = firms.mark_terminated(db, actor, partner_id=partner_id, reason=reason)
    why = partner.status_reason or reason  # as stored: cleaned by the status change
    now = clock.now()
    revoked = termination.revoke_standings(db, actor, partner_id=partner.id, reason=why, at=now)
    users, keys = accounts.disable_partner_access(
        db, actor, partner_id=partner.id, reason="partner terminated"
    )
    termination.record_termination(
        db,
        actor,
        partner=partner,
        reason=why,
        at=now,
        firm_credentials_revoked=revoked,
        users_disabled=users,
        api_keys_revoked=keys,
    )
    return partner
