"""The approvals service: requests made by a domain's own flow, overdue requests escalated by
the worker, and routing that follows the governance owners who can still decide."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from charter.accounts import service as accounts
from charter.approvals import service
from charter.approvals.enums import ApprovalState
from charter.approvals.models import ApprovalRequest
from charter.core.auth import Role
from charter.core.errors import Conflict, Forbidden, Invalid
from charter.core.models import Event
from charter.worker.runner import run_until_idle
from tests.approvals.types import FLOW_ONLY, SLA, WEBSITE
from tests.partners.factories import partner


def _flow_request(db, system, subject_id="lic_1", partner_id=None):
    return service.request_approval(
        db,
        system,
        type=FLOW_ONLY,
        subject_type="license",
        subject_id=subject_id,
        partner_id=partner_id,
        justification="Activation in a region the license does not cover.",
        proposed_change={"region": "apac"},
    )


def _escalations(db, request_id):
    query = select(Event).where(Event.subject_id == request_id, Event.type == "approval.escalated")
    return list(db.scalars(query.order_by(Event.seq)))


def test_a_flow_asks_and_an_approval_without_applier_is_the_outcome(
    sessions, system, make, frozen_clock
):
    owner = make.login(Role.GOVERNANCE_OWNER)
    with sessions() as db, db.begin():
        request = _flow_request(db, system)
        assert request.requested_by_type == "system"
        assert request.requested_by is None
        assert request.due_at == frozen_clock.now() + timedelta(hours=24)
        request_id = request.id

    with sessions() as db, db.begin():
        decided = service.approve(db, owner.principal, request_id=request_id)
        assert decided.state == ApprovalState.APPROVED
        assert decided.applied_at is None


def test_a_flow_only_type_cannot_be_asked_for_directly(sessions, system):
    with sessions() as db, db.begin(), pytest.raises(Invalid) as refused:
        service.request_approval(
            db,
            system,
            type=FLOW_ONLY,
            subject_type="license",
            subject_id="lic_1",
            justification="please",
            proposed_change={},
            direct=True,
        )
    assert [error.field for error in refused.value.errors] == ["type"]


def test_overdue_requests_are_escalated_by_the_worker(sessions, system, make, frozen_clock):
    owner = make.login(Role.GOVERNANCE_OWNER)
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active").id
        late = _flow_request(db, system, partner_id=firm).id
    frozen_clock.advance(timedelta(hours=1))
    with sessions() as db, db.begin():
        on_time = _flow_request(db, system, subject_id="lic_2").id

    frozen_clock.advance(timedelta(hours=23, minutes=30))  # late is 30 minutes past due
    run_until_idle(sessions)

    with sessions() as db:
        escalated = db.get(ApprovalRequest, late)
        assert escalated is not None
        assert escalated.escalation_level == 1
        assert escalated.escalated_at == frozen_clock.now()
        assert escalated.state == ApprovalState.PENDING
        [event] = _escalations(db, late)
        assert event.payload["level"] == 1
        assert event.payload["routed_to"] == [owner.user.id]
        assert event.partner_id == firm
        assert _escalations(db, on_time) == []
        overdue = service.list_requests(db, owner.principal, overdue=True)
        assert [item.id for item in overdue.items] == [late]

    # Within the same SLA period nothing more happens (on_time is now due in its turn); a
    # further period raises the level.
    frozen_clock.advance(timedelta(hours=1))
    run_until_idle(sessions)
    with sessions() as db:
        assert len(_escalations(db, late)) == 1
        assert [e.payload["level"] for e in _escalations(db, on_time)] == [1]
    frozen_clock.advance(timedelta(hours=24))
    run_until_idle(sessions)
    with sessions() as db:
        assert [e.payload["level"] for e in _escalations(db, late)] == [1, 2]
        assert [e.payload["level"] for e in _escalations(db, on_time)] == [1, 2]


def test_a_worker_long_away_escalates_once_to_the_level_due(sessions, system, frozen_clock):
    with sessions() as db, db.begin():
        request_id = _flow_request(db, system).id

    frozen_clock.advance(timedelta(days=30))
    run_until_idle(sessions)

    with sessions() as db:
        assert [e.payload["level"] for e in _escalations(db, request_id)] == [
            service.MAX_ESCALATION_LEVEL
        ]


def test_decided_requests_are_never_escalated(sessions, system, make, frozen_clock):
    owner = make.login(Role.GOVERNANCE_OWNER)
    with sessions() as db, db.begin():
        request_id = _flow_request(db, system).id
    with sessions() as db, db.begin():
        service.reject(db, owner.principal, request_id=request_id, reason="no")

    frozen_clock.advance(timedelta(days=5))
    run_until_idle(sessions)

    with sessions() as db:
        assert _escalations(db, request_id) == []
        assert service.list_requests(db, owner.principal, overdue=True).items == []


def test_a_routed_owner_who_is_disabled_leaves_the_type_to_every_owner(sessions, system, make):
    chosen = make.login(Role.GOVERNANCE_OWNER)
    other = make.login(Role.GOVERNANCE_OWNER)
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active").id
        service.set_owners(db, system, type=WEBSITE, user_ids=[chosen.user.id])
        assert service.routed_owners(db, WEBSITE) == [chosen.user.id]
        request_id = service.request_approval(
            db,
            system,
            type=WEBSITE,
            subject_type="partner",
            subject_id=firm,
            partner_id=firm,
            justification="rebrand",
            proposed_change={"website": "https://rebrand.example"},
        ).id
    with sessions() as db, db.begin(), pytest.raises(Forbidden):
        service.approve(db, other.principal, request_id=request_id)

    with sessions() as db, db.begin():
        accounts.disable_user(db, system, user_id=chosen.user.id, reason="left")
        assert service.routed_owners(db, WEBSITE) == sorted([other.user.id])
    with sessions() as db, db.begin():
        assert service.approve(db, other.principal, request_id=request_id).state == "applied"
    with sessions() as db, db.begin(), pytest.raises(Conflict):
        service.approve(db, other.principal, request_id=request_id)


def test_the_sla_comes_from_the_type(sessions, system, frozen_clock):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active").id
        request = service.request_approval(
            db,
            system,
            type=WEBSITE,
            subject_type="partner",
            subject_id=firm,
            partner_id=firm,
            justification="rebrand",
            proposed_change={"website": "https://rebrand.example"},
        )
        assert request.due_at == frozen_clock.now() + SLA


def test_an_escalation_is_mailed_to_the_admins_and_the_routed_owners(
    sessions, system, make, frozen_clock, smtp_inbox
):
    owner = make.login(Role.GOVERNANCE_OWNER)
    admin = make.login(Role.ADMIN)
    manager = make.login(Role.PROGRAM_MANAGER)
    with sessions() as db, db.begin():
        request_id = _flow_request(db, system).id

    frozen_clock.advance(timedelta(hours=25))
    run_until_idle(sessions)

    subject = f"Approval request overdue: {FLOW_ONLY} (escalation 1)"
    assert smtp_inbox.subjects(owner.user.email) == [subject]
    assert smtp_inbox.subjects(admin.user.email) == [subject]
    assert smtp_inbox.to(manager.user.email) == []
    assert request_id in smtp_inbox.to(admin.user.email)[0].get_body(("plain",)).get_content()
