"""Licensing pages: templates and agreements, the licenses list, a license's page with usage
against caps, activations and alerts; managers acknowledge and resolve alerts and suspend,
reinstate and revoke with a reason. Keys stay masked except for license_keys:read."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import event, select

from charter.core import clock
from charter.core.auth import Role
from charter.core.models import Event
from charter.licensing import metering
from charter.licensing.alert_models import LicenseAlert
from charter.licensing.models import License
from charter.licensing.usage_models import UsageRollup
from charter.partners.enums import PartnerStatus
from tests.licensing.factories import license, product, sign, template, terms
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


# Two caps, a month's and a year's: the year's is the nearer one this month.
TWO_CAPS = terms(
    fee={
        "model": "usage",
        "unit": "api_calls",
        "currency": "EUR",
        "tiers": [{"up_to": None, "rate": "0.01"}],
    },
    usage_caps={
        "api_calls": {"limit": 10000, "period": "month"},
        "exports": {"limit": 50, "period": "year"},
    },
)


def _license_on(sessions, partner_id: str, offered: dict, used: dict[str, int]) -> str:
    """A license of ``partner_id`` on terms ``offered`` that used ``used`` this month, and
    9,999 api_calls the month before (outside a monthly cap's period)."""
    with sessions() as db, db.begin():
        offer = template(db, SYSTEM, product_id=product(db, SYSTEM).id, terms=offered)
        agreement = sign(db, SYSTEM, partner_id=partner_id, template_id=offer.id)
        issued, _ = license(db, SYSTEM, agreement_id=agreement.id)
        this_month = metering.month_start(clock.now())
        last_month = metering.month_start(this_month - timedelta(days=1))
        rollups = {(metric, this_month): total for metric, total in used.items()}
        rollups[("api_calls", last_month)] = 9999
        for (metric, period), total in rollups.items():
            db.add(UsageRollup(license_id=issued.id, metric=metric, period=period, total=total))
        return issued.id


def _cap_cell(html: str, license_id: str) -> str:
    row = html.split(f'data-license="{license_id}"')[1].split("</tr>", maxsplit=1)[0]
    return re.sub(r"\s+", " ", row.split('class="cap-use')[1])


def test_the_licenses_list_shows_each_licenses_nearest_cap_in_two_queries(client, sessions, engine):
    world = build_world(sessions)
    over = licensed_firm(sessions, partner_id=world.harbor_id).license_id
    near = _license_on(sessions, world.harbor_id, TWO_CAPS, {"api_calls": 8200, "exports": 20})
    yearly = _license_on(sessions, world.harbor_id, TWO_CAPS, {"api_calls": 100, "exports": 45})
    uncapped = _license_on(sessions, world.harbor_id, terms(), {})
    auditor = web_user(sessions, Role.AUDITOR)
    sign_in(client, auditor.email, auditor.password)

    def statements_of(path: str) -> tuple[str, list[str]]:
        seen: list[str] = []

        def record(connection, cursor, statement, *args) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            page = client.get(path)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert page.status_code == 200
        return page.text, seen

    page, first = statements_of("/licenses")
    assert _cap_cell(page, over).startswith(' over" data-metric="api_calls"')
    assert "api_calls 150% of 1,000/month" in _cap_cell(page, over)
    assert "over the cap" in _cap_cell(page, over)
    assert "api_calls 82% of 10,000/month" in _cap_cell(page, near)
    assert "over the cap" not in _cap_cell(page, near)
    assert "exports 90% of 50/year" in _cap_cell(page, yearly)
    assert "data-metric" not in _cap_cell(page, uncapped)
    assert len([s for s in first if "usage_rollups" in s]) == 1

    for _ in range(3):
        _license_on(sessions, world.harbor_id, TWO_CAPS, {"api_calls": 1})
    page, more = statements_of("/licenses")
    assert page.count('class="cap-use"') + page.count('class="cap-use over"') == 7
    assert len(more) == len(first)  # not one more per license
