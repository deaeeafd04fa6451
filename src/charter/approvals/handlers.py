"""Worker handlers for approvals: registered with :mod:`charter.worker.registry` on import.

Every quarter of an hour, pending requests past their due time are escalated; the
``approval.escalated`` event that records it carries the notices (webhooks, email).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from charter.approvals import service
from charter.core import clock
from charter.core.auth import Principal
from charter.worker import registry

ESCALATION_EVERY = timedelta(minutes=15)


# The name is stored in every job's key (``periodic:approvals.escalate:<period>``): fixed.
@registry.periodic("approvals.escalate", ESCALATION_EVERY)
def escalate_overdue(db: Session, actor: Principal, period_start: datetime) -> None:
    """Escalate the pending requests whose decision is overdue."""
    service.escalate_overdue(db, actor, at=clock.now())
