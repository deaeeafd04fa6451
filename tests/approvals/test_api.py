"""Approval requests over HTTP, on SQLite and PostgreSQL: asked for, routed to the governance
owners of their type, approved and applied at once, rejected with a reason, or withdrawn."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charter.core.auth import Role
from charter.core.models import Event
from tests.approvals.types import FLOW_ONLY, REFUSED, WEBSITE
from tests.partners.factories import partner

API = "/api/v1"


@pytest.fixture
def firm(sessions, system):
    with sessions() as db, db.begin():
        return partner(db, system, status="active").id


@pytest.fixture
def other_firm(sessions, system):
    with sessions() as db, db.begin():
        return partner(db, system, status="active").id


def _ask(client, login, firm, website="https://new.example", type=WEBSITE, **overrides):
    body = {
        "type": type,
        "subject_type": "partner",
        "subject_id": firm,
        "partner_id": firm,
        "justification": "We moved our site after the merger.",
        "proposed_change": {"website": website},
        **overrides,
    }
    return client.post(f"{API}/approvals", json=body, headers=login.headers)


def _fields(response):
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


def _event_types(db, request_id):
    query = select(Event.type).where(Event.subject_id == request_id).order_by(Event.seq)
    return list(db.scalars(query))


def test_a_request_is_routed_approved_and_applied_at_once(client, make, db, firm):
    requester = make.login(Role.PARTNER_ADMIN, partner_id=firm)
    owner = make.login(Role.GOVERNANCE_OWNER)

    asked = _ask(client, requester, firm)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["id"].startswith("apr_")
    assert request["state"] == "pending"
    assert request["requested_by"] == requester.user.id
    assert request["overdue"] is False
    pending = client.get(f"{API}/approvals?state=pending", headers=owner.headers).json()
    assert [item["id"] for item in pending["items"]] == [request["id"]]

    approved = client.post(
        f"{API}/approvals/{request['id']}/approve", json={"reason": "fine"}, headers=owner.headers
    )

    assert approved.status_code == 200, approved.text
    done = approved.json()
    assert done["state"] == "applied"
    assert done["decided_by"] == owner.user.id
    assert done["result"] == {"website": "https://new.example"}
    shown = client.get(f"{API}/partners/{firm}", headers=requester.headers).json()
    assert shown["website"] == "https://new.example"
    assert _event_types(db, request["id"]) == [
        "approval.requested",
        "approval.approved",
        "approval.applied",
    ]
    requested = db.scalars(
        select(Event).where(Event.subject_id == request["id"]).order_by(Event.seq)
    ).first()
    assert requested is not None
    assert requested.partner_id == firm
    assert requested.payload["routed_to"] == [owner.user.id]
    changed = db.scalars(
        select(Event).where(Event.type == "partner.updated", Event.subject_id == firm)
    ).one()
    assert changed.payload["changes"]["website"]["to"] == "https://new.example"


def test_a_type_routed_to_named_owners_is_theirs_to_decide(client, make, firm):
    admin = make.login(Role.ADMIN)
    chosen = make.login(Role.GOVERNANCE_OWNER)
    other = make.login(Role.GOVERNANCE_OWNER)
    requester = make.login(Role.PARTNER_ADMIN, partner_id=firm)
    routed = client.put(
        f"{API}/approval-types/{WEBSITE}/owners",
        json={"user_ids": [chosen.user.id]},
        headers=admin.headers,
    )
    assert routed.status_code == 200, routed.text
    assert routed.json()["owners"] == [chosen.user.id]
    request = _ask(client, requester, firm).json()

    refused = client.post(f"{API}/approvals/{request['id']}/approve", headers=other.headers)
    assert refused.status_code == 403, refused.text
    accepted = client.post(f"{API}/approvals/{request['id']}/approve", headers=chosen.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "applied"


def test_routing_only_to_governance_owners(client, make):
    admin = make.login(Role.ADMIN)
    manager = make.login(Role.PROGRAM_MANAGER)

    response = client.put(
        f"{API}/approval-types/{WEBSITE}/owners",
        json={"user_ids": [manager.user.id]},
        headers=admin.headers,
    )
    unknown = client.put(
        f"{API}/approval-types/no.such_type/owners", json={"user_ids": []}, headers=admin.headers
    )

    assert response.status_code == 422
    assert _fields(response) == ["user_ids.0"]
    assert unknown.status_code == 422
    assert _fields(unknown) == ["type"]


def test_rejecting_needs_a_reason_and_changes_nothing(client, make, firm):
    requester = make.login(Role.PARTNER_ADMIN, partner_id=firm)
    owner = make.login(Role.GOVERNANCE_OWNER)
    before = client.get(f"{API}/partners/{firm}", headers=requester.headers).json()["website"]
    request = _ask(client, requester, firm).json()
    url = f"{API}/approvals/{request['id']}"

    missing = client.post(f"{url}/reject", json={}, headers=owner.headers)
    blank = client.post(f"{url}/reject", json={"reason": "  "}, headers=owner.headers)
    rejected = client.post(f"{url}/reject", json={"reason": "Not verified."}, headers=owner.headers)

    assert missing.status_code == 422
    assert _fields(missing) == ["reason"]
    assert blank.status_code == 422
    assert _fields(blank) == ["reason"]
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["reason"] == "Not verified."
    after = client.get(f"{API}/partners/{firm}", headers=requester.headers).json()["website"]
    assert after == before
    # A decided request is decided: no second decision, no withdrawal.
    again = client.post(f"{url}/approve", headers=owner.headers)
    assert again.status_code == 409, again.text
    assert again.json()["state"] == "rejected"
    assert client.post(f"{url}/withdraw", headers=requester.headers).status_code == 409


def test_nobody_approves_their_own_request(client, make, firm):
    admin = make.login(Role.ADMIN)
    other_admin = make.login(Role.ADMIN)
    request = _ask(client, admin, firm).json()

    own = client.post(f"{API}/approvals/{request['id']}/approve", headers=admin.headers)
    own_reject = client.post(
        f"{API}/approvals/{request['id']}/reject", json={"reason": "x"}, headers=admin.headers
    )
    other = client.post(f"{API}/approvals/{request['id']}/approve", headers=other_admin.headers)

    assert own.status_code == 403, own.text
    assert "themselves" in own.json()["detail"]
    assert own_reject.status_code == 403
    assert other.status_code == 200, other.text
    assert other.json()["state"] == "applied"


def test_partner_users_see_and_withdraw_only_their_firms_requests(client, make, firm, other_firm):
    requester = make.login(Role.PARTNER_ADMIN, partner_id=firm)
    member = make.login(Role.PARTNER_MEMBER, partner_id=firm)
    outsider = make.login(Role.PARTNER_ADMIN, partner_id=other_firm)
    request = _ask(client, requester, firm).json()
    url = f"{API}/approvals/{request['id']}"

    assert client.get(url, headers=member.headers).status_code == 200
    assert client.get(url, headers=outsider.headers).status_code == 404
    listed = client.get(f"{API}/approvals", headers=outsider.headers).json()
    assert listed["items"] == []
    assert client.post(f"{url}/withdraw", headers=outsider.headers).status_code == 404
    assert client.post(f"{url}/withdraw", headers=member.headers).status_code == 403
    elsewhere = _ask(client, outsider, firm)
    assert elsewhere.status_code == 422
    assert _fields(elsewhere) == ["partner_id"]

    withdrawn = client.post(f"{url}/withdraw", json={"reason": "done"}, headers=requester.headers)

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["state"] == "withdrawn"


def test_an_applier_refusal_is_recorded_as_failed_and_undone(client, make, db, firm):
    requester = make.login(Role.PARTNER_ADMIN, partner_id=firm)
    owner = make.login(Role.GOVERNANCE_OWNER)
    before = client.get(f"{API}/partners/{firm}", headers=requester.headers).json()["website"]
    request = _ask(client, requester, firm, type=REFUSED).json()

    response = client.post(f"{API}/approvals/{request['id']}/approve", headers=owner.headers)

    assert response.status_code == 200, response.text
    failed = response.json()
    assert failed["state"] == "failed"
    assert failed["decided_by"] == owner.user.id
    assert failed["decided_at"] is not None
    assert "changed since" in failed["error"]
    assert failed["result"]["problem"]["status"] == 409
    after = client.get(f"{API}/partners/{firm}", headers=requester.headers).json()["website"]
    assert after == before
    assert _event_types(db, request["id"]) == [
        "approval.requested",
        "approval.approved",
        "approval.failed",
    ]
    assert db.scalar(select(Event.id).where(Event.type == "partner.updated")) is None


def test_bad_requests_name_the_field(client, make, firm):
    requester = make.login(Role.PARTNER_ADMIN, partner_id=firm)

    unknown = _ask(client, requester, firm, type="no.such_type")
    flow_only = _ask(client, requester, firm, type=FLOW_ONLY)
    bad_change = _ask(client, requester, firm, website="not a url")
    extra = _ask(client, requester, firm, proposed_change={"website": "https://a.example", "x": 1})
    wrong_subject = _ask(client, requester, firm, subject_type="license")
    no_reason = _ask(client, requester, firm, justification=" ")

    assert unknown.status_code == 422
    assert _fields(unknown) == ["type"]
    assert flow_only.status_code == 422
    assert _fields(flow_only) == ["type"]
    assert bad_change.status_code == 422
    assert _fields(bad_change) == ["proposed_change.website"]
    assert extra.status_code == 422
    assert _fields(extra) == ["proposed_change.x"]
    assert wrong_subject.status_code == 422
    assert _fields(wrong_subject) == ["subject_type"]
    assert no_reason.status_code == 422
    assert _fields(no_reason) == ["justification"]


def test_one_pending_request_per_type_and_subject(client, make, firm):
    requester = make.login(Role.PARTNER_ADMIN, partner_id=firm)
    first = _ask(client, requester, firm).json()

    second = _ask(client, requester, firm, website="https://other.example")

    assert second.status_code == 409, second.text
    assert second.json()["existing"] == first["id"]


def test_unknown_and_malformed_ids_are_not_found(client, make):
    owner = make.login(Role.GOVERNANCE_OWNER)

    assert client.get(f"{API}/approvals/apr_nothing", headers=owner.headers).status_code == 404
    response = client.post(f"{API}/approvals/apr_%00/approve", headers=owner.headers)
    assert response.status_code == 404
    bad_cursor = client.get(f"{API}/approvals?cursor=nope", headers=owner.headers)
    assert bad_cursor.status_code == 422
    assert _fields(bad_cursor) == ["cursor"]


def test_types_list_their_sla_and_owners(client, make, firm):
    owner = make.login(Role.GOVERNANCE_OWNER)
    member = make.login(Role.PARTNER_MEMBER, partner_id=firm)

    staff_view = {
        item["name"]: item
        for item in client.get(f"{API}/approval-types", headers=owner.headers).json()
    }
    partner_view = {
        item["name"]: item
        for item in client.get(f"{API}/approval-types", headers=member.headers).json()
    }

    assert staff_view[WEBSITE]["sla_hours"] == 72
    assert staff_view[WEBSITE]["direct"] is True
    assert staff_view[WEBSITE]["applies_change"] is True
    assert staff_view[WEBSITE]["owners"] == []
    assert staff_view[FLOW_ONLY]["applies_change"] is False
    assert partner_view[WEBSITE]["owners"] is None
