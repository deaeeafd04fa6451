"""Approval requests for the portal's tests: a firm's website change waiting for a decision."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from charter.accounts import service as accounts
from charter.approvals import service as approvals
from charter.core import clock
from tests.approvals.types import WEBSITE

JUSTIFICATION = "We moved our site after the merger."


def pending_request(
    sessions: sessionmaker[Session],
    *,
    requester_id: str,
    partner_id: str,
    website: str = "https://new.example",
    justification: str = JUSTIFICATION,
    overdue: bool = False,
) -> str:
    """A pending website change for ``partner_id`` asked by ``requester_id``; its id."""
    with sessions() as db, db.begin():
        requester = accounts.principal_for(accounts.get_user(db, requester_id))
        request = approvals.request_approval(
            db,
            requester,
            type=WEBSITE,
            subject_type="partner",
            subject_id=partner_id,
            partner_id=partner_id,
            justification=justification,
            proposed_change={"website": website},
            direct=True,
        )
        if overdue:
            request.due_at = clock.now() - timedelta(hours=1)
        return request.id
