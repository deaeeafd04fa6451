"""Licensing pages: templates and agreements, the licenses list, a license's page with usage
against caps, activations and alerts; managers acknowledge and resolve alerts and suspend,
reinstate and revoke with a reason. Keys stay masked except for license_keys:read."""

from __future__ import annotations

from sqlalchemy import select

from charter.core.auth import Role
from charter.core.models import Event
from charter.licensing.alert_models import LicenseAlert
from charter.licensing.models import License
from charter.partners.enums import PartnerStatus
from tests.partners.factories import partner
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.licensing_world import licensed_firm
from tests.web.portal_world import SYSTEM, build_world


def _license(sessions, license_id) -> License:
    with sessions() as db:
        found = db.get(License, license_id)
        db.expunge(found)
        return found


def test_staff_read_templates_agreements_licenses_and_a_license(client, sessions):
    world = build_world(sessions)
    licensed = licensed_firm(sessions, partner_id=world.harbor_id)
    auditor = web_user(sessions, Role.AUDITOR)
    sign_in(client, auditor.email, auditor.password)
    agreements = client.get("/licensing/agreements")
    assert agreements.status_code == 200
    assert licensed.template_name in agreements.text
    assert "in force" in agreements.text
    assert world.harbor_id in agreements.text
    listed = client.get(f"/licenses?status=active&partner_id={world.harbor_id}").text
    assert f'data-license="{licensed.license_id}"' in listed
    assert 'data-license="' not in client.get("/licenses?status=revoked").text
    assert client.get("/licenses?status=lost").status_code == 422

    page = client.get(f"/licenses/{licensed.license_id}").text
    assert licensed.key not in page
    assert f"{licensed.key_prefix}-…" in page
    cap_row = page.split('data-metric="api_calls"')[1].split("</tr>")[0]
    assert "1500" in cap_row
    assert "1000" in cap_row
    assert "over" in cap_row
    assert f'data-alert="{licensed.alert_id}"' in page
    assert 'method="post"' not in page.split("</header>")[1]  # auditors: no forms


def test_a_firms_admin_reveals_the_key_and_the_reading_is_recorded(client, sessions):
    world = build_world(sessions)
    licensed = licensed_firm(sessions, partner_id=world.harbor_id)
    with sessions() as db, db.begin():
        rival = partner(db, SYSTEM, name="Rival GmbH", status=PartnerStatus.ACTIVE).id
    other = licensed_firm(sessions, partner_id=rival)
    admin = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    sign_in(client, admin.email, admin.password)
    page = client.get(f"/licenses/{licensed.license_id}").text
    assert 'id="reveal-key"' in page
    assert 'id="lifecycle"' not in page
    shown = client.post(f"/licenses/{licensed.license_id}/key", data={"csrf": csrf_from(page)})
    assert licensed.key in shown.text
    with sessions() as db:
        types = db.scalars(select(Event.type).where(Event.subject_id == licensed.license_id))
        assert "license.key_viewed" in list(types)
    assert client.get(f"/licenses/{other.license_id}").status_code == 404
    assert other.license_id not in client.get("/licenses").text


def test_managers_change_the_lifecycle_with_a_reason_and_handle_alerts(client, sessions):
    world = build_world(sessions)
    licensed = licensed_firm(sessions, partner_id=world.harbor_id)
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    path = f"/licenses/{licensed.license_id}"
    token = csrf_from(client.get(path).text)

    blank = client.post(f"{path}/suspend", data={"csrf": token, "reason": " "})
    assert blank.status_code == 422
    assert 'data-field="reason"' in blank.text
    assert _license(sessions, licensed.license_id).status == "active"
    assert client.post(f"{path}/suspend", data={"reason": "x"}).status_code == 403

    client.post(f"{path}/suspend", data={"csrf": token, "reason": "Unpaid invoice"})
    assert _license(sessions, licensed.license_id).status == "suspended"
    again = client.post(f"{path}/suspend", data={"csrf": token, "reason": "Twice"})
    assert again.status_code == 409
    client.post(f"{path}/reinstate", data={"csrf": token, "reason": "Paid"})
    assert _license(sessions, licensed.license_id).status == "active"

    alert = f"{path}/alerts/{licensed.alert_id}"
    client.post(f"{alert}/acknowledge", data={"csrf": token})
    no_note = client.post(f"{alert}/resolve", data={"csrf": token, "note": ""})
    assert no_note.status_code == 422
    with sessions() as db:
        assert db.get(LicenseAlert, licensed.alert_id).state == "acknowledged"
    client.post(f"{alert}/resolve", data={"csrf": token, "note": "A lab, not sharing"})
    with sessions() as db:
        assert db.get(LicenseAlert, licensed.alert_id).state == "resolved"

    client.post(f"{path}/revoke", data={"csrf": token, "reason": "Breach"})
    assert _license(sessions, licensed.license_id).status == "revoked"
