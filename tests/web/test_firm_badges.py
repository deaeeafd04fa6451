"""Firm tier badges on the public surfaces: page, JSON, baked images, verification, embed."""

from __future__ import annotations

import html
import json
import re
import uuid
from dataclasses import dataclass

import pytest

from charter.core import clock
from charter.credentials import baking, verify
from charter.partners import employment as partners
from charter.tiers import service
from charter.tiers.models import FirmTier, TierBadge
from charter.web import public
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import gold, registered, scheme

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FIRM_NAME = "Northwind <Cloud> & Sons"


@dataclass(frozen=True)
class FirmBadge:
    """A firm's Gold badge as the test knows it."""

    id: str
    document: str
    partner_id: str
    engineer_id: str
    emails: tuple[str, ...]


@pytest.fixture
def firm_badge(db, system, frozen_clock) -> FirmBadge:
    """An active firm holding Gold (two certified engineers), with its signed badge."""
    firm = partner(db, system, status="active", name=FIRM_NAME)
    cert = certification(db, system, track=Track.TECHNICAL, validity_days=365)
    emails = tuple(f"engineer.{n}.{uuid.uuid4().hex[:6]}@example.com" for n in range(2))
    engineers = [person(db, system, partner_id=firm.id, emails=[email]) for email in emails]
    for engineer in engineers:
        award(db, system, person_id=engineer.id, certification_id=cert.id)
    scheme(db, system, [registered(), gold(grace_days=0)])
    service.evaluate_firm(db, system, partner_id=firm.id)
    standing = db.get(FirmTier, (firm.id, "default"))
    assert standing is not None
    assert standing.tier == "gold"
    badge = db.get(TierBadge, standing.badge_id)
    assert badge is not None
    found = FirmBadge(badge.id, badge.document, firm.id, engineers[0].id, emails)
    # Committed, and nothing read afterwards: on SQLite an open transaction locks the app out.
    db.commit()
    return found


def _drop_to_registered(db, system, badge: FirmBadge) -> str:
    """An engineer leaves: the firm falls to Registered at once; the new badge's id."""
    partners.person_leaves_partner(db, system, person_id=badge.engineer_id)
    service.evaluate_firm(db, system, partner_id=badge.partner_id)
    standing = db.get(FirmTier, (badge.partner_id, "default"))
    assert standing is not None
    assert standing.tier == "registered"
    assert standing.badge_id is not None
    new_id = standing.badge_id
    db.commit()
    return new_id


def _banner(page: str) -> str:
    match = re.search(r'id="status-banner" data-status="([a-z_]+)"', page)
    assert match, "the page has no status banner"
    return match.group(1)


def _meta(page: str, key: str) -> str:
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', page)
    assert match, f"no {key} meta tag"
    return html.unescape(match.group(1))


def _no_private_data(text: str | bytes, badge: FirmBadge) -> None:
    data = text if isinstance(text, str) else text.decode("utf-8", "replace")
    assert "@example.com" not in data
    for email in badge.emails:
        assert email.split("@")[0] not in data


def test_the_badge_id_is_its_public_page(firm_badge, settings):
    document = json.loads(firm_badge.document)
    assert document["id"] == f"{settings.public_url}/credentials/{firm_badge.id}"


@pytest.mark.parametrize("accept", ["application/vc+ld+json", "application/ld+json"])
def test_json_clients_get_the_stored_firm_badge_byte_for_byte(client, firm_badge, accept):
    response = client.get(f"/credentials/{firm_badge.id}", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == accept
    assert response.content == firm_badge.document.encode("utf-8")
    assert "Accept" in response.headers["vary"]
    download = client.get(f"/credentials/{firm_badge.id}.json")
    assert download.content == firm_badge.document.encode("utf-8")
    assert download.headers["content-disposition"] == (
        f'attachment; filename="{firm_badge.id}.json"'
    )
    # The tiers API still serves the same document.
    api = client.get(f"/api/v1/tier-badges/{firm_badge.id}")
    assert api.status_code == 200
    assert api.content == firm_badge.document.encode("utf-8")


def test_browsers_get_a_page_naming_the_firm_and_its_tier(client, firm_badge, settings):
    response = client.get(f"/credentials/{firm_badge.id}", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    page = response.text
    assert _banner(page) == "valid"
    assert 'data-kind="firm"' in page
    assert ">Partner tier<" in page
    assert '<h1 id="certification-name">Gold</h1>' in page
    # The firm's name comes from the signed document, escaped.
    assert "Held by <strong" in page
    assert "Northwind &lt;Cloud&gt; &amp; Sons" in page
    assert "<Cloud>" not in page
    assert "Charter demo issuer" in page
    assert "2026-03-01" in page  # issued
    assert "revoked if the firm no longer holds the tier" in page
    assert 'id="verify-button"' in page
    assert f'data-credential="/credentials/{firm_badge.id}.json"' in page
    assert 'id="linkedin-link"' not in page  # LinkedIn profiles list people's certifications
    assert "<script>" not in page
    _no_private_data(page, firm_badge)

    url = f"{settings.public_url}/credentials/{firm_badge.id}"
    assert _meta(page, "og:url") == url
    assert _meta(page, "og:image") == f"{url}/badge.png"
    assert _meta(page, "og:title") == "Gold · Charter demo issuer"
    assert _meta(page, "og:description") == (
        f"{FIRM_NAME} holds the Gold partner tier, issued by Charter demo issuer."
    )
    match = re.search(r'<textarea id="embed-snippet"[^>]*>([^<]*)</textarea>', page)
    assert match
    assert html.unescape(match.group(1)).startswith(f'<iframe src="{url}/embed"')


def test_the_page_and_the_verify_api_agree_with_the_verifier(client, db, settings, firm_badge):
    document = json.loads(firm_badge.document)
    verdict = public.verify_own(db, settings, document)
    db.rollback()
    assert verdict.status == "valid"
    checked = client.post("/api/v1/verify", json={"credential": document}).json()
    assert checked["status"] == "valid"
    assert all(check["ok"] for check in checked["checks"])


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_baked_firm_badges_carry_the_credential_and_verify(client, db, settings, firm_badge, kind):
    response = client.get(f"/credentials/{firm_badge.id}/badge.{kind}")
    assert response.status_code == 200
    expected_type = "image/png" if kind == "png" else "image/svg+xml"
    assert response.headers["content-type"].split(";")[0] == expected_type
    assert response.headers["content-disposition"] == f'inline; filename="{firm_badge.id}.{kind}"'
    extract = baking.extract_png if kind == "png" else baking.extract_svg
    baked = extract(response.content)
    assert baked == firm_badge.document
    _no_private_data(response.content, firm_badge)
    # Any verifier can check the baked credential: Charter's, from its own documents only.
    verdict = verify.verify_credential(
        json.loads(baked), resolver=public.OwnDocuments(settings, db=db), now=clock.now()
    )
    db.rollback()
    assert verdict.status == "valid", verdict.reason
    if kind == "svg":
        assert b"Gold" in response.content
        assert b"Partner" in response.content


def test_the_embed_shows_the_firm_and_may_be_framed(client, firm_badge):
    response = client.get(f"/credentials/{firm_badge.id}/embed")
    assert response.status_code == 200
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert "x-frame-options" not in response.headers
    page = response.text
    assert 'data-status="valid"' in page
    assert '<span class="embed-name">Gold</span>' in page
    assert "Northwind &lt;Cloud&gt; &amp; Sons" in page
    assert f'href="/credentials/{firm_badge.id}" target="_blank"' in page
    assert "<script" not in page
    _no_private_data(page, firm_badge)


def test_a_firm_that_loses_its_tier_shows_the_badge_revoked(client, db, system, firm_badge):
    new_id = _drop_to_registered(db, system, firm_badge)
    page = client.get(f"/credentials/{firm_badge.id}", headers={"Accept": BROWSER_ACCEPT}).text
    assert _banner(page) == "revoked"
    assert "Reason: tier changed to Registered" in page
    assert f'href="/credentials/{new_id}"' in page  # its replacement, the Registered badge
    embed = client.get(f"/credentials/{firm_badge.id}/embed").text
    assert 'data-status="revoked"' in embed
    # The stored bytes do not change; the verifier sees the revocation.
    stored = client.get(f"/credentials/{firm_badge.id}", headers={"Accept": "application/ld+json"})
    assert stored.content == firm_badge.document.encode("utf-8")
    checked = client.post(
        "/api/v1/verify", json={"credential": json.loads(firm_badge.document)}
    ).json()
    assert checked["status"] == "revoked"
    assert "tier changed to Registered" in checked["reason"]
    baked = baking.extract_png(client.get(f"/credentials/{firm_badge.id}/badge.png").content)
    assert public.verify_own(db, client.app.state.settings, json.loads(baked)).status == "revoked"
    db.rollback()

    fresh = client.get(f"/credentials/{new_id}", headers={"Accept": BROWSER_ACCEPT}).text
    assert _banner(fresh) == "valid"
    assert '<h1 id="certification-name">Registered</h1>' in fresh


def test_tiers_have_their_own_colours(client, db, system, firm_badge):
    new_id = _drop_to_registered(db, system, firm_badge)
    gold_svg = client.get(f"/credentials/{firm_badge.id}/badge.svg").content
    registered_svg = client.get(f"/credentials/{new_id}/badge.svg").content
    assert public.TIER_COLOURS[1].encode() in gold_svg
    assert public.TIER_COLOURS[0].encode() in registered_svg


def test_unknown_firm_badges_are_not_found(client, db):
    missing = "tbg_01JAAAAAAAAAAAAAAAAAAAAAAA"
    page = client.get(f"/credentials/{missing}", headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    for path, headers in [
        (f"/credentials/{missing}", {"Accept": "application/vc+ld+json"}),
        (f"/credentials/{missing}.json", {}),
        (f"/credentials/{missing}/badge.png", {}),
        (f"/credentials/{missing}/badge.svg", {}),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get(f"/credentials/{missing}/embed").status_code == 404


def test_the_dashboard_shows_tiers_to_staff_and_the_firm(client, db, system, firm_badge, sessions):
    from charter.core.auth import Role
    from tests.web.helpers import sign_in, web_user

    staff = web_user(sessions, Role.PROGRAM_MANAGER)
    assert sign_in(client, staff.email, staff.password).status_code == 303
    page = client.get("/dashboard").text
    assert 'id="partners-by-tier"' in page
    assert re.search(r'<tr data-tier="gold"><th scope="row">Gold</th><td>1</td></tr>', page)
    client.cookies.clear()

    # A new version of the scheme gives Gold a grace period; losing an engineer puts the firm
    # at risk, and its own users see that next to its tier.
    scheme(db, system, [registered(), gold(grace_days=30)])
    partners.person_leaves_partner(db, system, person_id=firm_badge.engineer_id)
    service.evaluate_firm(db, system, partner_id=firm_badge.partner_id)
    db.commit()
    member = web_user(sessions, Role.PARTNER_ADMIN, partner_id=firm_badge.partner_id)
    assert sign_in(client, member.email, member.password).status_code == 303
    page = client.get("/dashboard").text
    assert 'id="partners-by-tier"' not in page
    match = re.search(r'<p id="firm-tiers">(.*?)</p>', page, re.S)
    assert match, "the firm's tier is not on its dashboard"
    line = match.group(1)
    assert f'<a href="/credentials/{firm_badge.id}"><strong>Gold</strong></a>' in line
    assert "at risk until 2026-03-31" in line
