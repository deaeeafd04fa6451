"""Licensing forms in the portal: products, agreement templates and their versions, a firm's
signature, issuing a license (its key shown once) and renewing one. A refused form comes back
with the error next to its field and what was typed, and writes nothing; readers get no form
and their posts are refused; partner users cannot reach the pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from charter.core import clock
from charter.core.auth import Role
from charter.licensing.models import (
    Agreement,
    AgreementTemplate,
    AgreementVersion,
    License,
    Product,
)
from charter.partners.enums import PartnerStatus
from tests.licensing.factories import product, sign, template
from tests.partners.factories import partner
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.licensing_world import licensed_firm
from tests.web.portal_world import SYSTEM, build_world

SHOWN_KEY = re.compile(r'<span id="license-key">([^<]+)</span>')
TEMPLATE_LINK = re.compile(r"/licensing/templates/(agt_[A-Za-z0-9]+)$")

# A version as the form posts it: per seat in EMEA, 12 months, a capped metric.
VERSION_FORM = {
    "effective_from": "",
    "summary": "Resale in Europe",
    "features": "analytics; sso",
    "right_use": "yes",
    "right_distribute": "yes",
    "regions": "emea",
    "countries": "DE; FR",
    "excluded_countries": "",
    "verticals": "",
    "term_months": "12",
    "renewal": "on_request",
    "fee_model": "per_seat",
    "fee_amount": "40.00",
    "fee_currency": "EUR",
    "fee_period": "year",
    "fee_minimum_seats": "5",
    "fee_unit": "",
    "fee_tiers": "",
    "royalty_percent": "10",
    "audit_allowed": "yes",
    "audit_notice_days": "30",
    "audit_max_per_year": "1",
    "wind_down_days": "90",
    "duties": "Stop new sales\nReturn materials",
    "usage_caps": "api_calls 1000000 month allow_and_flag",
    "req_program": "default",
    "req_min_tier": "",
    "req_by_track": "",
    "req_by_certification": "",
    "req_certifications": "",
}


def _count(sessions, model) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(model))


def _manager(client, sessions) -> str:
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    return csrf_from(client.get("/account").text)


def _field_error(html: str, field: str) -> str:
    """The error shown next to ``field`` (empty when none)."""
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    return found.group(1) if found else ""


def _offer(sessions, partner_id: str | None = None) -> tuple[str, str, str | None]:
    """A product, a template on it and (given a firm) that firm's signed agreement."""
    with sessions() as db, db.begin():
        made = product(db, SYSTEM)
        offer = template(db, SYSTEM, product_id=made.id)
        signed = (
            sign(db, SYSTEM, partner_id=partner_id, template_id=offer.id) if partner_id else None
        )
        return made.id, offer.id, signed.id if signed else None


def test_a_manager_creates_a_product_and_a_refused_one_writes_nothing(client, sessions):
    token = _manager(client, sessions)
    page = client.get("/licensing/products")
    assert page.status_code == 200
    assert 'id="product-form"' in page.text
    assert '<label for="features">' in page.text

    refused = client.post(
        "/licensing/products",
        data={"csrf": token, "code": "ANALYTICS", "name": "Analytics", "features": "Bad Key | X"},
    )
    assert refused.status_code == 422
    assert _field_error(refused.text, "features")
    assert "Bad Key | X" in refused.text  # what was typed comes back
    assert 'value="ANALYTICS"' in refused.text
    assert _count(sessions, Product) == 0

    created = client.post(
        "/licensing/products",
        data={
            "csrf": token,
            "code": "ANALYTICS",
            "name": "<script>alert(1)</script>",
            "description": "Self-hosted",
            "features": "dashboards | Dashboards\nsso | Single sign-on | SAML and OIDC",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    listed = client.get("/licensing/products").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listed
    assert "<script>alert(1)</script>" not in listed
    assert "sso (Single sign-on)" in listed
    with sessions() as db:
        made = db.scalars(select(Product)).one()
        assert [feature["key"] for feature in made.features] == ["dashboards", "sso"]

    taken = client.post(
        "/licensing/products", data={"csrf": token, "code": "ANALYTICS", "name": "Again"}
    )
    assert taken.status_code == 422
    assert "already exists" in _field_error(taken.text, "code")
    assert _count(sessions, Product) == 1


def test_a_manager_creates_a_template_publishes_a_version_and_records_a_signature(client, sessions):
    world = build_world(sessions)
    with sessions() as db, db.begin():
        product_id = product(db, SYSTEM).id
    token = _manager(client, sessions)
    form = client.get(f"/licensing/templates/new?product_id={product_id}")
    assert form.status_code == 200
    assert f'<option value="{product_id}" selected>' in form.text
    base = {"csrf": token, "code": "RESELL-EU", "name": "Reseller (Europe)"}
    base["product_id"] = product_id

    for bad, field in (
        ({"fee_currency": "EURO"}, "fee_currency"),
        ({"features": "analytics; teleport"}, "features"),
        ({"regions": "mars"}, "regions"),
        ({"usage_caps": "api_calls"}, "usage_caps"),
        ({"term_months": ""}, "term_months"),
    ):
        refused = client.post("/licensing/templates", data={**base, **VERSION_FORM, **bad})
        assert refused.status_code == 422, bad
        assert _field_error(refused.text, field), bad
        assert 'value="RESELL-EU"' in refused.text, bad
    assert _count(sessions, AgreementTemplate) == 0

    created = client.post(
        "/licensing/templates",
        data={**base, **VERSION_FORM, "name": "<script>x()</script>"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    template_id = TEMPLATE_LINK.search(created.headers["location"]).group(1)
    page = client.get(f"/licensing/templates/{template_id}").text
    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<script>x()</script>" not in page
    assert "in force" in page
    assert 'value="analytics; sso"' in page  # the next version starts from this one
    assert f"/licensing/templates/{template_id}" in client.get("/licensing/agreements").text

    path = f"/licensing/templates/{template_id}"
    too_early = client.post(
        f"{path}/versions",
        data={"csrf": token, **VERSION_FORM, "effective_from": "2020-01-01", "summary": "Old"},
    )
    assert too_early.status_code == 422
    assert _field_error(too_early.text, "effective_from")
    assert 'value="2020-01-01"' in too_early.text
    assert _count(sessions, AgreementVersion) == 1

    published = client.post(
        f"{path}/versions",
        data={"csrf": token, **VERSION_FORM, "summary": "Royalty lowered", "royalty_percent": "8"},
        follow_redirects=False,
    )
    assert published.status_code == 303
    page = client.get(path).text
    assert 'data-version="2"' in page
    assert "Royalty lowered" in page

    signer = {
        "csrf": token,
        "partner_id": world.harbor_id,
        "signer_name": "Dana Whitfield",
        "signer_email": "dana@harbor.example.com",
        "signer_title": "CEO",
    }
    for bad, field in (
        ({"partner_id": "prt_01JAAAAAAAAAAAAAAAAAAAAAAA"}, "partner_id"),
        ({"signer_email": "not an email"}, "signer_email"),
        ({"version": "9"}, "version"),
    ):
        refused = client.post(f"{path}/agreements", data={**signer, **bad})
        assert refused.status_code == 422, bad
        assert _field_error(refused.text, field), bad
        assert 'value="Dana Whitfield"' in refused.text, bad
    assert _count(sessions, Agreement) == 0

    signed = client.post(f"{path}/agreements", data=signer, follow_redirects=False)
    assert signed.status_code == 303
    with sessions() as db:
        agreement = db.scalars(select(Agreement)).one()
        assert (agreement.partner_id, agreement.version) == (world.harbor_id, 2)
    article = client.get(path).text.split('data-version="2"')[1].split("</article>")[0]
    assert f'data-agreement="{agreement.id}"' in article
    assert f"/licenses/new?agreement_id={agreement.id}" in article


def _offered(html: str) -> list[str]:
    """The firms the signature form offers to choose, in order."""
    return re.findall(r'<input type="radio" name="partner_id" value="(prt_[A-Za-z0-9]+)"', html)


def test_the_signature_form_finds_the_firm_by_name_and_keeps_the_choice(client, sessions):
    world = build_world(sessions)
    with sessions() as db, db.begin():
        lanterns = [partner(db, SYSTEM, name=f"Lantern Works {n:02}") for n in range(21, 0, -1)]
        closed = partner(db, SYSTEM, name="Closed Lantern", status=PartnerStatus.SUSPENDED)
    _, template_id, _ = _offer(sessions)
    path = f"/licensing/templates/{template_id}"
    token = _manager(client, sessions)

    blank = client.get(path).text
    assert 'id="firm-search"' in blank
    assert _offered(blank) == []
    assert '<input id="partner_id" name="partner_id"' in blank  # an id can still be typed

    many = client.get(f"{path}?firm_q=lantern+WORKS").text
    offered = _offered(many)
    assert len(offered) == 20
    names = re.findall(r"> (Lantern Works \d\d) <", many)
    assert names == sorted(names)
    assert 'id="more-firms"' in many
    assert 'value="lantern WORKS"' in many  # the search stays in its box

    one = client.get(f"{path}?firm_q=harbor").text
    assert _offered(one) == [world.harbor_id]
    assert 'id="more-firms"' not in one
    assert 'id="no-firm-found"' in client.get(f"{path}?firm_q=nothing+like+it").text
    refused_search = client.get(f"{path}?firm_q=%00")
    assert refused_search.status_code == 200
    assert _field_error(refused_search.text, "firm_q")

    # Opened from a firm's page: that firm is chosen.
    chosen = client.get(f"{path}?partner_id={world.quill_id}").text
    assert f'value="{world.quill_id}" checked' in chosen
    assert f"/licensing/templates/{template_id}?partner_id={world.harbor_id}#sign" in (
        client.get(f"/licensing/{world.harbor_id}").text
    )

    signer = {
        "csrf": token,
        "signer_name": "Dana Whitfield",
        "signer_email": "dana@harbor.example.com",
        "firm_q": "lantern",
    }
    suspended = client.post(f"{path}/agreements", data={**signer, "partner_id": closed.id})
    assert suspended.status_code == 422
    assert "cannot sign" in _field_error(suspended.text, "partner_id")
    assert f'value="{closed.id}" checked' in suspended.text  # the choice is kept
    assert lanterns[0].id in _offered(suspended.text)  # and the firms searched for

    unknown = "prt_01JAAAAAAAAAAAAAAAAAAAAAAA"
    typed = client.post(f"{path}/agreements", data={**signer, "firm_q": "", "partner_id": unknown})
    assert typed.status_code == 422
    assert unknown in _field_error(typed.text, "partner_id")
    assert f'value="{unknown}"' in typed.text
    none_chosen = client.post(f"{path}/agreements", data={**signer, "partner_id": ""})
    assert _field_error(none_chosen.text, "partner_id")
    assert _count(sessions, Agreement) == 0

    signed = client.post(
        f"{path}/agreements",
        data={**signer, "partner_id": lanterns[0].id},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    with sessions() as db:
        assert db.scalars(select(Agreement.partner_id)).one() == lanterns[0].id


def test_partner_users_get_no_link_to_record_a_signature(client, sessions):
    world = build_world(sessions)
    _offer(sessions)
    admin = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    sign_in(client, admin.email, admin.password)
    page = client.get(f"/licensing/{world.harbor_id}")
    assert page.status_code == 200
    assert 'id="record-signature"' not in page.text


def test_a_manager_issues_a_license_and_sees_its_key_once(client, sessions):
    world = build_world(sessions)
    _, _, agreement_id = _offer(sessions, world.harbor_id)
    token = _manager(client, sessions)
    assert 'href="/licenses/new"' in client.get("/licenses").text
    form = client.get(f"/licenses/new?agreement_id={agreement_id}").text
    assert f'<option value="{agreement_id}" selected>' in form
    assert world.harbor_name in form

    issue = {"csrf": token, "agreement_id": agreement_id, "seats": "25", "seat_model": "floating"}
    for bad, field in (
        ({"seats": "0"}, "seats"),
        ({"regions": "apac"}, "regions"),
        ({"countries": "US"}, "countries"),
        ({"valid_until": "2020-01-01"}, "valid_until"),
        ({"valid_until": "someday"}, "valid_until"),
        ({"agreement_id": "agr_01JAAAAAAAAAAAAAAAAAAAAAAA"}, "agreement_id"),
    ):
        refused = client.post("/licenses", data={**issue, **bad})
        assert refused.status_code == 422, bad
        assert _field_error(refused.text, field), bad
    assert _count(sessions, License) == 0

    issued = client.post("/licenses", data={**issue, "valid_until": "2030-06-30"})
    assert issued.status_code == 201
    key = SHOWN_KEY.search(issued.text).group(1)
    with sessions() as db:
        license = db.scalars(select(License)).one()
        assert (license.seats, license.seat_model) == (25, "floating")
        assert clock.ensure_utc(license.valid_until) == datetime(
            2030, 6, 30, 23, 59, 59, tzinfo=UTC
        )
        assert key.startswith(license.key_prefix)
    again = client.get(f"/licenses/{license.id}").text
    assert key not in again
    assert f"{license.key_prefix}-…" in again


def test_a_manager_renews_a_license_to_a_new_term(client, sessions):
    world = build_world(sessions)
    licensed = licensed_firm(sessions, partner_id=world.harbor_id)
    token = _manager(client, sessions)
    path = f"/licenses/{licensed.license_id}"
    assert 'id="renew-form"' in client.get(path).text
    with sessions() as db:
        before = db.get(License, licensed.license_id).valid_until

    for bad in ("2020-01-01", "next year"):
        refused = client.post(f"{path}/renew", data={"csrf": token, "valid_until": bad})
        assert refused.status_code == 422, bad
        assert _field_error(refused.text, "valid_until"), bad
        assert f'value="{bad}"' in refused.text, bad
    with sessions() as db:
        assert db.get(License, licensed.license_id).valid_until == before

    year = clock.now().year + 3
    renewed = client.post(
        f"{path}/renew",
        data={"csrf": token, "valid_until": f"{year}-12-31", "reason": "Renewed for three years"},
        follow_redirects=False,
    )
    assert renewed.status_code == 303
    with sessions() as db:
        after = db.get(License, licensed.license_id)
        assert clock.ensure_utc(after.valid_until) == datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC)
        assert after.renewed_at is not None

    by_term = client.post(f"{path}/renew", data={"csrf": token}, follow_redirects=False)
    assert by_term.status_code == 303  # blank: one more term of the agreement (12 months)
    with sessions() as db:
        extended = clock.ensure_utc(db.get(License, licensed.license_id).valid_until)
        assert extended == datetime(year + 1, 12, 31, 23, 59, 59, tzinfo=UTC)

    client.post(f"{path}/revoke", data={"csrf": token, "reason": "Breach"})
    revoked = client.post(f"{path}/renew", data={"csrf": token, "valid_until": ""})
    assert revoked.status_code == 422
    assert "cannot be renewed" in revoked.text
    assert 'id="renew-form"' in revoked.text  # the refusal shows where it was asked


def test_readers_get_no_licensing_forms_and_their_posts_are_refused(client, sessions):
    world = build_world(sessions)
    licensed = licensed_firm(sessions, partner_id=world.harbor_id)
    product_id, template_id, agreement_id = _offer(sessions, world.quill_id)
    auditor = web_user(sessions, Role.AUDITOR)
    sign_in(client, auditor.email, auditor.password)
    token = csrf_from(client.get("/account").text)
    for path in (
        "/licensing/products",
        f"/licensing/templates/{template_id}",
        "/licensing/agreements",
        "/licenses",
        f"/licenses/{licensed.license_id}",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'method="post"' not in page.text.split("</header>")[1], path
        assert "/licenses/new" not in page.text, path
        assert "/licensing/templates/new" not in page.text, path
    assert client.get("/licenses/new").status_code == 404
    assert client.get("/licensing/templates/new").status_code == 404

    counts = [_count(sessions, model) for model in (Product, AgreementTemplate, License)]
    versions = _count(sessions, AgreementVersion)
    for path, data in (
        ("/licensing/products", {"code": "X", "name": "X"}),
        ("/licensing/templates", {"code": "X", "name": "X", "product_id": product_id}),
        (f"/licensing/templates/{template_id}/versions", VERSION_FORM),
        (f"/licensing/templates/{template_id}/agreements", {"partner_id": world.harbor_id}),
        ("/licenses", {"agreement_id": agreement_id, "seats": "1"}),
        (f"/licenses/{licensed.license_id}/renew", {}),
    ):
        assert client.post(path, data={"csrf": token, **data}).status_code == 403, path
    assert [_count(sessions, model) for model in (Product, AgreementTemplate, License)] == counts
    assert _count(sessions, AgreementVersion) == versions


def test_a_partner_admin_cannot_reach_the_licensing_forms(client, sessions):
    world = build_world(sessions)
    licensed = licensed_firm(sessions, partner_id=world.harbor_id)
    product_id, template_id, agreement_id = _offer(sessions, world.harbor_id)
    admin = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    sign_in(client, admin.email, admin.password)
    token = csrf_from(client.get("/account").text)
    for path in (
        "/licensing/products",
        "/licensing/templates/new",
        f"/licensing/templates/{template_id}",
        "/licenses/new",
    ):
        assert client.get(path).status_code == 404, path
    assert "/licenses/new" not in client.get("/licenses").text
    for path, data in (
        ("/licensing/products", {"code": "X", "name": "X"}),
        ("/licensing/templates", {"code": "X", "name": "X", "product_id": product_id}),
        (f"/licensing/templates/{template_id}/versions", VERSION_FORM),
        (f"/licensing/templates/{template_id}/agreements", {"partner_id": world.harbor_id}),
        ("/licenses", {"agreement_id": agreement_id, "seats": "1"}),
        (f"/licenses/{licensed.license_id}/renew", {}),
    ):
        assert client.post(path, data={"csrf": token, **data}).status_code == 404, path
    assert _count(sessions, License) == 1
