"""The approvals inbox and a request's page: governance owners see what is routed to them,
overdue first, and approve or reject with a reason; others read; bad input writes nothing."""

from __future__ import annotations

import re

from sqlalchemy import select

from charter.approvals import service as approvals
from charter.approvals.models import ApprovalRequest
from charter.core.auth import Role
from charter.core.models import Event
from charter.partners.models import Partner
from tests.approvals.types import WEBSITE
from tests.web.admin_world import JUSTIFICATION, pending_request
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import SYSTEM, build_world


def _state(sessions, request_id):
    with sessions() as db:
        return db.get(ApprovalRequest, request_id).state


def _events(sessions, request_id):
    with sessions() as db:
        query = select(Event.type).where(Event.subject_id == request_id).order_by(Event.seq)
        return list(db.scalars(query))


def _world_with_requests(sessions):
    world = build_world(sessions)
    requester = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    quill_requester = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.quill_id)
    on_time = pending_request(sessions, requester_id=requester.id, partner_id=world.harbor_id)
    late = pending_request(
        sessions, requester_id=quill_requester.id, partner_id=world.quill_id, overdue=True
    )
    return world, requester, on_time, late


def test_the_inbox_lists_routed_requests_overdue_first(client, sessions):
    _world, _requester, on_time, late = _world_with_requests(sessions)
    owner = web_user(sessions, Role.GOVERNANCE_OWNER)
    sign_in(client, owner.email, owner.password)
    page = client.get("/approvals")
    assert page.status_code == 200
    inbox = page.text.split('id="inbox-requests"')[1].split("</table>")[0]
    order = re.findall(r'data-approval="([^"]+)"', inbox)
    assert order == [late, on_time]
    assert 'data-overdue="yes"' in inbox.split(on_time)[0]


def test_an_owner_approves_with_a_reason_and_the_change_is_applied(client, sessions):
    world, _requester, on_time, _late = _world_with_requests(sessions)
    owner = web_user(sessions, Role.GOVERNANCE_OWNER)
    sign_in(client, owner.email, owner.password)
    page = client.get(f"/approvals/{on_time}")
    assert JUSTIFICATION in page.text
    assert "https://new.example" in page.text
    assert f'action="/approvals/{on_time}/approve"' in page.text

    blank = client.post(
        f"/approvals/{on_time}/approve", data={"csrf": csrf_from(page.text), "reason": "  "}
    )
    assert blank.status_code == 422
    assert "say why" in blank.text
    assert _state(sessions, on_time) == "pending"
    assert _events(sessions, on_time) == ["approval.requested"]

    no_csrf = client.post(f"/approvals/{on_time}/approve", data={"reason": "Fine"})
    assert no_csrf.status_code == 403
    assert _state(sessions, on_time) == "pending"

    done = client.post(
        f"/approvals/{on_time}/approve",
        data={"csrf": csrf_from(page.text), "reason": "Matches the merger filing."},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _state(sessions, on_time) == "applied"
    with sessions() as db:
        assert db.get(Partner, world.harbor_id).website == "https://new.example"
    shown = client.get(f"/approvals/{on_time}").text
    assert "Matches the merger filing." in shown
    assert 'action="/approvals/' not in shown  # decided: no form


def test_rejecting_keeps_the_firm_as_it_was(client, sessions):
    world, _requester, on_time, _late = _world_with_requests(sessions)
    admin = web_user(sessions, Role.ADMIN)
    sign_in(client, admin.email, admin.password)
    token = csrf_from(client.get(f"/approvals/{on_time}").text)
    client.post(f"/approvals/{on_time}/reject", data={"csrf": token, "reason": "Not verified."})
    assert _state(sessions, on_time) == "rejected"
    with sessions() as db:
        assert db.get(Partner, world.harbor_id).website != "https://new.example"


def test_requesters_and_other_staff_read_but_get_no_decision_form(client, sessions):
    _world, requester, on_time, late = _world_with_requests(sessions)
    sign_in(client, requester.email, requester.password)
    own = client.get(f"/approvals/{on_time}")
    assert own.status_code == 200
    assert JUSTIFICATION in own.text
    assert 'id="decide"' not in own.text
    assert client.get(f"/approvals/{late}").status_code == 404  # another firm's
    assert late not in client.get("/approvals").text
    refused = client.post(
        f"/approvals/{on_time}/approve", data={"csrf": csrf_from(own.text), "reason": "mine"}
    )
    assert refused.status_code == 403
    assert _state(sessions, on_time) == "pending"


def test_an_owner_not_routed_the_type_gets_no_form(client, sessions):
    _world, _requester, on_time, _late = _world_with_requests(sessions)
    routed = web_user(sessions, Role.GOVERNANCE_OWNER)
    other = web_user(sessions, Role.GOVERNANCE_OWNER)
    with sessions() as db, db.begin():
        approvals.set_owners(db, SYSTEM, type=WEBSITE, user_ids=[routed.id])
    sign_in(client, other.email, other.password)
    assert 'id="inbox-empty"' in client.get("/approvals").text
    page = client.get(f"/approvals/{on_time}")
    assert 'id="decide"' not in page.text
