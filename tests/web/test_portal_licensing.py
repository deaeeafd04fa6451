"""A firm's licensing page: licenses with keys masked (shown on request to those who may read
keys), activations, usage against caps, alerts and approval requests; never another firm's."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from charter.core import clock
from charter.core.auth import Principal, Role
from charter.core.models import Event
from charter.licensing import activations, alerts
from charter.licensing.activations import HeldForApproval
from charter.licensing.anomalies import Finding, Rule, Severity
from charter.partners.enums import PartnerStatus
from tests.licensing.factories import license, product, sign, template, terms
from tests.partners.factories import partner
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import World, build_world

SYSTEM = Principal.system("licensing page tests")
BROWSER = {"Accept": "text/html"}


@dataclass(frozen=True)
class Licensed:
    """The world, Harbor's and Lantern's licenses and keys, and the approval Harbor asked for."""

    world: World
    other_id: str
    license_id: str
    key: str
    other_license_id: str
    other_key: str
    customer: str
    request_justification: str


def _metered() -> dict:
    return terms(
        fee={
            "model": "usage",
            "unit": "api_calls",
            "currency": "EUR",
            "tiers": [{"up_to": None, "rate": "0.01"}],
        },
        usage_caps={"api_calls": {"limit": 100, "period": "month", "overage": "allow_and_flag"}},
    )


@pytest.fixture
def licensed(sessions, client) -> Licensed:
    return _build(sessions, client)


def _build(
    sessions,
    client,
    *,
    names: str | None = None,
    product_name: str = "Harbor Suite",
    customer: str = "Klinikum Nord",
    justification: str = "A customer's Tokyo office",
) -> Licensed:
    """Licenses for Harbor and another firm; ``names`` names Harbor, its people and what it
    types (product, customer, justification) alike."""
    if names is not None:
        product_name = customer = justification = names
    world = (
        build_world(sessions)
        if names is None
        else build_world(sessions, harbor_name=names, person_name=names, certification_name=names)
    )
    with sessions() as db, db.begin():
        other_id = partner(db, SYSTEM, name="Lantern Works", status=PartnerStatus.ACTIVE).id
    with sessions() as db, db.begin():
        offer = template(
            db, SYSTEM, product_id=product(db, SYSTEM, name=product_name).id, terms=_metered()
        )
        mine = sign(db, SYSTEM, partner_id=world.harbor_id, template_id=offer.id)
        theirs = sign(db, SYSTEM, partner_id=other_id, template_id=offer.id)
        issued, key = license(db, SYSTEM, agreement_id=mine.id, seats=3)
        other_issued, other_key = license(db, SYSTEM, agreement_id=theirs.id)
    with sessions() as db, db.begin():
        activations.activate(
            db,
            key=key,
            fingerprint="host-0001",
            region="emea",
            country="DE",
            customer_name=customer,
        )
        held = activations.activate(
            db,
            key=key,
            fingerprint="host-0002",
            region="apac",
            country="JP",
            customer_name="Tokyo Clinic",
            justification=justification,
        )
        assert isinstance(held, HeldForApproval)
        activations.activate(
            db,
            key=other_key,
            fingerprint="other-0001",
            region="emea",
            country="FR",
            customer_name="Lantern Secret Customer",
        )
        alerts.raise_alert(
            db,
            SYSTEM,
            license_id=issued.id,
            finding=Finding(Rule.ACTIVATION_BURST, Severity.MEDIUM, {"count": 9}),
            at=clock.now(),
        )
        alerts.raise_alert(
            db,
            SYSTEM,
            license_id=other_issued.id,
            finding=Finding(Rule.SHARING, Severity.HIGH, {"count": 4}),
            at=clock.now(),
        )
    now = clock.now().isoformat()
    reported = client.post(
        "/api/v1/usage",
        json={
            "key": key,
            "records": [
                {"metric": "api_calls", "quantity": 130, "occurred_at": now, "record_id": "u-1"}
            ],
        },
    )
    assert reported.status_code == 200, reported.text
    return Licensed(
        world,
        other_id,
        issued.id,
        key,
        other_issued.id,
        other_key,
        customer,
        justification,
    )


def _sign_in(client, sessions, licensed: Licensed, role: Role) -> None:
    partner_id = licensed.world.harbor_id if role.is_partner_role else None
    user = web_user(sessions, role, partner_id=partner_id)
    sign_in(client, user.email, user.password)


def test_a_member_sees_the_firms_licensing_with_keys_masked_and_no_forms(
    client, sessions, licensed
):
    _sign_in(client, sessions, licensed, Role.PARTNER_MEMBER)
    page = client.get(f"/licensing/{licensed.world.harbor_id}")
    assert page.status_code == 200
    text = page.text
    assert "Harbor Suite" in text
    assert licensed.key not in text
    assert re.search(r'<code class="masked-key">[^<]+…</code>', text)
    assert "1 of 3 in use" in text
    assert licensed.customer in text
    assert re.search(r'data-metric="api_calls" class="over">api_calls: 130 of 100 this month', text)
    assert "activation burst" in text
    assert "A customer&#39;s Tokyo office" in text
    forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', text)
    assert set(forms) == {"/logout"}
    # Nothing of Lantern's.
    for secret in (licensed.other_license_id, "Lantern Secret Customer", "sharing"):
        assert secret not in text


def test_an_admin_may_show_a_key_and_the_reading_is_recorded(client, sessions, licensed):
    _sign_in(client, sessions, licensed, Role.PARTNER_ADMIN)
    harbor = licensed.world.harbor_id
    page = client.get(f"/licensing/{harbor}").text
    action = f"/licensing/{harbor}/licenses/{licensed.license_id}/key"
    assert f'action="{action}"' in page
    assert licensed.key not in page
    shown = client.post(action, data={"csrf": csrf_from(page)})
    assert shown.status_code == 200
    assert f'<code class="license-key">{licensed.key}</code>' in shown.text
    assert shown.headers["cache-control"] == "no-store"
    with sessions() as db:
        viewed = db.scalars(select(Event).where(Event.type == "license.key_viewed")).all()
        assert [event.subject_id for event in viewed] == [licensed.license_id]


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_MEMBER])
def test_another_firms_licensing_and_keys_are_404_pages(client, sessions, licensed, role):
    _sign_in(client, sessions, licensed, role)
    harbor, other = licensed.world.harbor_id, licensed.other_id
    page = client.get(f"/licensing/{other}", headers=BROWSER)
    assert page.status_code == 404
    assert "Lantern Secret Customer" not in page.text
    csrf = csrf_from(client.get(f"/licensing/{harbor}").text)
    for path in (
        f"/licensing/{other}/licenses/{licensed.other_license_id}/key",
        f"/licensing/{harbor}/licenses/{licensed.other_license_id}/key",
    ):
        response = client.post(path, data={"csrf": csrf}, headers=BROWSER)
        assert response.status_code == 404, path
        assert licensed.other_key not in response.text


def test_a_member_cannot_show_a_key(client, sessions, licensed):
    _sign_in(client, sessions, licensed, Role.PARTNER_MEMBER)
    harbor = licensed.world.harbor_id
    csrf = csrf_from(client.get(f"/licensing/{harbor}").text)
    response = client.post(
        f"/licensing/{harbor}/licenses/{licensed.license_id}/key",
        data={"csrf": csrf},
        headers=BROWSER,
    )
    assert response.status_code == 403
    assert licensed.key not in response.text


def test_staff_open_any_firms_licensing(client, sessions, licensed):
    _sign_in(client, sessions, licensed, Role.AUDITOR)
    page = client.get(f"/licensing/{licensed.other_id}")
    assert page.status_code == 200
    assert "Lantern Secret Customer" in page.text


def test_names_like_scripts_render_as_text(client, sessions):
    script = "<script>alert(1)</script>"
    licensed = _build(sessions, client, names=script)
    _sign_in(client, sessions, licensed, Role.PARTNER_ADMIN)
    text = client.get(f"/licensing/{licensed.world.harbor_id}").text
    assert "<script" not in text
    # The firm, the product, the customer and the request's justification.
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
