"""Public credential pages: negotiation, the page for people, baked downloads, LinkedIn, embed."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from charter.app import create_app
from charter.credentials import baking, issuance, service
from charter.credentials.linkedin import add_to_profile_url
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification

DAY = timedelta(days=1)
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def issued(db, system, frozen_clock):
    """A valid credential of a technical certification, with the holder's address."""
    firm = partner(db, system)
    holder = person(db, system, partner_id=firm.id, emails=["ada.holder@example.com"])
    cert = certification(
        db,
        system,
        name="Cloud Architect <Professional>",
        description="Designs & runs the vendor's platform.",
        narrative="Pass exam CX-100 with 70% or more.",
        track=Track.TECHNICAL,
        validity_days=365,
    )
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    credential = issuance.current_credential_for_award(db, awarded.id)
    assert credential is not None
    award_id = awarded.id
    # Committed, and nothing read afterwards: on SQLite an open transaction locks the app out.
    db.commit()
    return credential, award_id


def _banner(page: str) -> str:
    match = re.search(r'id="status-banner" data-status="([a-z_]+)"', page)
    assert match, "the page has no status banner"
    return match.group(1)


def _meta(page: str, key: str) -> str:
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', page)
    assert match, f"no {key} meta tag"
    return html.unescape(match.group(1))


@pytest.mark.parametrize(
    "accept",
    ["application/vc+ld+json", "application/vc", "application/ld+json", "application/json"],
)
def test_json_clients_get_the_stored_document_byte_for_byte(client, db, issued, accept):
    credential, _ = issued
    response = client.get(f"/credentials/{credential.id}", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == accept
    assert response.content == credential.document_text.encode("utf-8")
    assert "Accept" in response.headers["vary"]


def test_format_json_and_the_download_serve_the_same_bytes(client, issued):
    credential, _ = issued
    by_query = client.get(f"/credentials/{credential.id}?format=json")
    assert by_query.headers["content-type"].startswith("application/vc+ld+json")
    assert by_query.content == credential.document_text.encode("utf-8")
    download = client.get(f"/credentials/{credential.id}.json")
    assert download.status_code == 200
    assert download.content == credential.document_text.encode("utf-8")
    disposition = download.headers["content-disposition"]
    assert disposition == f'attachment; filename="{credential.id}.json"'
    assert "max-age" in download.headers["cache-control"]


def test_browsers_get_a_page_with_facts_a_valid_banner_and_no_email(client, issued):
    credential, _ = issued
    response = client.get(f"/credentials/{credential.id}", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert _banner(page) == "valid"
    # The certification comes from the signed document, escaped.
    assert "Cloud Architect &lt;Professional&gt;" in page
    assert "<Professional>" not in page
    assert "Designs &amp; runs the vendor&#39;s platform." in page
    assert "Pass exam CX-100 with 70% or more." in page
    assert "Charter demo issuer" in page
    assert "2026-03-01" in page  # issued
    assert "2027-03-01" in page  # expires after 365 days
    assert "Certified professional" in page
    assert "ada.holder" not in page
    assert "@example.com" not in page
    assert 'id="verify-button"' in page
    assert '<script src="/static/credential.js"' in page
    assert "<script>" not in page  # the CSP allows no inline script


def test_the_page_sets_the_security_headers_and_no_cookie(client, issued):
    credential, _ = issued
    response = client.get(f"/credentials/{credential.id}")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in response.headers


def test_opengraph_and_twitter_tags_describe_the_badge(client, issued, settings):
    credential, _ = issued
    page = client.get(f"/credentials/{credential.id}").text
    url = f"{settings.public_url}/credentials/{credential.id}"
    assert _meta(page, "og:url") == url
    assert _meta(page, "og:image") == f"{url}/badge.png"
    assert _meta(page, "og:title") == "Cloud Architect <Professional> · Charter demo issuer"
    assert "Designs & runs" in _meta(page, "og:description")
    assert _meta(page, "twitter:card") == "summary"
    assert _meta(page, "twitter:image") == f"{url}/badge.png"
    for key in ("og:title", "og:description", "twitter:title", "twitter:description"):
        assert "@example.com" not in _meta(page, key)


def test_a_revoked_credential_shows_revoked_with_the_reason(client, db, system, issued):
    credential, award_id = issued
    service.revoke_award(db, system, award_id=award_id, reason="exam fraud <confirmed>")
    db.commit()
    page = client.get(f"/credentials/{credential.id}").text
    assert _banner(page) == "revoked"
    assert "Reason: exam fraud &lt;confirmed&gt;" in page
    embed = client.get(f"/credentials/{credential.id}/embed").text
    assert 'data-status="revoked"' in embed


def test_a_suspended_credential_shows_suspended(client, db, system, issued):
    credential, award_id = issued
    service.suspend_award(db, system, award_id=award_id, reason="payment overdue")
    db.commit()
    assert _banner(client.get(f"/credentials/{credential.id}").text) == "suspended"
    service.reinstate_award(db, system, award_id=award_id, reason="paid")
    db.commit()
    # Reinstating issues a new credential; the suspended one is revoked and points to it.
    new = issuance.current_credential_for_award(db, award_id)
    assert new is not None
    new_id = new.id
    db.commit()
    assert new_id != credential.id
    page = client.get(f"/credentials/{credential.id}").text
    assert _banner(page) == "revoked"
    assert f'href="/credentials/{new_id}"' in page
    assert _banner(client.get(f"/credentials/{new_id}").text) == "valid"


def _suspend(db, system, award_id, frozen_clock):
    service.suspend_award(db, system, award_id=award_id, reason="payment overdue")


def _revoke(db, system, award_id, frozen_clock):
    service.revoke_award(db, system, award_id=award_id, reason="exam fraud")


def _expire(db, system, award_id, frozen_clock):
    frozen_clock.advance(400 * DAY)


@pytest.mark.parametrize(
    ("change", "label"),
    [(_revoke, "Revoked"), (_suspend, "Suspended"), (_expire, "Expired")],
    ids=["revoked", "suspended", "expired"],
)
def test_a_credential_not_in_force_offers_no_linkedin_and_says_so_when_shared(
    client, db, system, issued, frozen_clock, change, label
):
    credential, award_id = issued
    url = f"/credentials/{credential.id}"
    before = client.get(url, headers={"Accept": BROWSER_ACCEPT}).text
    assert 'id="linkedin-link"' in before
    assert not _meta(before, "og:title").startswith(label)
    change(db, system, award_id, frozen_clock)
    db.commit()
    page = client.get(url, headers={"Accept": BROWSER_ACCEPT}).text
    assert _banner(page) == label.lower()
    assert 'id="linkedin-link"' not in page
    assert "linkedin.com" not in page
    for key in ("og:title", "twitter:title", "og:description", "twitter:description"):
        assert _meta(page, key).startswith(f"{label}"), key
    assert (
        _meta(page, "og:title") == f"{label}: Cloud Architect <Professional> · Charter demo issuer"
    )


def test_a_renewed_credential_shows_its_issue_and_first_award_dates(
    client, db, system, issued, frozen_clock
):
    credential, award_id = issued
    first = client.get(f"/credentials/{credential.id}", headers={"Accept": BROWSER_ACCEPT}).text
    assert 'id="awarded"' not in first
    frozen_clock.advance(320 * DAY)
    renewed = service.renew_award(
        db, system, award_id=award_id, override_reason="renewal for the test"
    )
    new = issuance.current_credential_for_award(db, award_id)
    assert new is not None
    new_id, renewed_at = new.id, renewed.renewed_at
    db.commit()
    page = client.get(f"/credentials/{new_id}", headers={"Accept": BROWSER_ACCEPT}).text
    issued_on = re.search(r'id="issued">([^<]+)<', page)
    awarded_on = re.search(r'id="awarded">([^<]+)<', page)
    assert issued_on
    assert awarded_on
    assert issued_on.group(1) == renewed_at.strftime("%Y-%m-%d %H:%M UTC")
    assert awarded_on.group(1) == credential.valid_from.strftime("%Y-%m-%d %H:%M UTC")


def test_an_expired_credential_shows_expired(client, issued, frozen_clock):
    credential, _ = issued
    frozen_clock.advance(400 * DAY)
    page = client.get(f"/credentials/{credential.id}").text
    assert _banner(page) == "expired"


def test_the_verify_api_uses_charters_own_records(client, db, system, issued):
    credential, award_id = issued
    body = {"credential": credential.document}
    verdict = client.post("/api/v1/verify", json=body).json()
    assert verdict["status"] == "valid"
    assert all(check["ok"] for check in verdict["checks"])
    service.revoke_award(db, system, award_id=award_id, reason="left the program")
    db.commit()
    verdict = client.post("/api/v1/verify", json=body).json()
    assert verdict["status"] == "revoked"
    assert "left the program" in verdict["reason"]


def test_a_listening_server_verifies_again_from_what_it_keeps(
    settings, engine, backend, db, system, issued
):
    """charter serve keeps its DID document, status lists and records between changes on
    both databases: verifying a badge again opens no transaction, and a revocation is in
    the next verdicts all the same."""
    credential, award_id = issued
    app = create_app(settings, engine=engine, listen=True)
    begun: list[object] = []

    def on_begin(connection: object) -> None:
        begun.append(connection)

    event.listen(engine, "begin", on_begin)
    body = {"credential": credential.document}
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            if backend == "postgresql":
                assert app.state.change_watch.wait_listening(10)
            assert client.post("/api/v1/verify", json=body).json()["status"] == "valid"
            begun.clear()

            assert client.post("/api/v1/verify", json=body).json()["status"] == "valid"
            assert begun == []

            service.revoke_award(db, system, award_id=award_id, reason="left the program")
            db.commit()
            deadline = time.monotonic() + 10  # PostgreSQL's notice arrives within milliseconds
            verdict = client.post("/api/v1/verify", json=body).json()
            while verdict["status"] == "valid" and time.monotonic() < deadline:
                time.sleep(0.02)
                verdict = client.post("/api/v1/verify", json=body).json()
            assert verdict["status"] == "revoked"
            assert "left the program" in verdict["reason"]
    finally:
        event.remove(engine, "begin", on_begin)
        if backend == "postgresql":
            app.state.change_watch.close()


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_baked_badges_carry_the_credential(client, issued, kind):
    credential, _ = issued
    response = client.get(f"/credentials/{credential.id}/badge.{kind}")
    assert response.status_code == 200
    expected_type = "image/png" if kind == "png" else "image/svg+xml"
    assert response.headers["content-type"].split(";")[0] == expected_type
    assert "max-age" in response.headers["cache-control"]
    extract = baking.extract_png if kind == "png" else baking.extract_svg
    assert extract(response.content) == credential.document_text
    assert b"@example.com" not in response.content
    again = client.get(
        f"/credentials/{credential.id}/badge.{kind}",
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304


def test_a_badge_is_drawn_from_the_certifications_own_image(
    client, db, system, frozen_clock, settings
):
    # A design saved as if it were the certification's artwork, served by Charter (/static).
    from charter.web import badge_images

    artwork = baking.default_badge_svg("Artwork", "own", "#123456")
    name = f"test-artwork-{uuid.uuid4().hex}.svg"
    target = badge_images.STATIC / name
    target.write_bytes(artwork)
    try:
        holder = person(db, system, partner_id=None)
        image_url = f"{settings.public_url}/static/{name}"
        cert = certification(db, system, image_url=image_url)
        awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
        credential = issuance.current_credential_for_award(db, awarded.id)
        assert credential is not None
        db.commit()
        svg = client.get(f"/credentials/{credential.id}/badge.svg").content
        assert b"#123456" in svg
        assert baking.extract_svg(svg) == credential.document_text
    finally:
        target.unlink()


def test_the_page_links_to_linkedin_with_the_certification(client, issued, settings):
    credential, _ = issued
    page = client.get(f"/credentials/{credential.id}").text
    match = re.search(r'id="linkedin-link" href="([^"]+)"', page)
    assert match
    link = urlsplit(html.unescape(match.group(1)))
    assert (link.scheme, link.netloc, link.path) == ("https", "www.linkedin.com", "/profile/add")
    params = {key: values[0] for key, values in parse_qs(link.query).items()}
    assert params == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Cloud Architect <Professional>",
        "organizationName": "Charter demo issuer",
        "issueYear": "2026",
        "issueMonth": "3",
        "expirationYear": "2027",
        "expirationMonth": "3",
        "certUrl": f"{settings.public_url}/credentials/{credential.id}",
        "certId": credential.id,
    }


def test_linkedin_url_prefers_the_organization_id_and_encodes_every_value():
    url = add_to_profile_url(
        name="Sales & Marketing Pro",
        organization_id="1234567",
        organization_name="Vendor",
        issued=datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
        expires=None,
        credential_url="https://charter.example/credentials/bdg_1?x=1",
        credential_id="bdg_1",
    )
    query = urlsplit(url).query
    assert "name=Sales%20%26%20Marketing%20Pro" in query
    assert "certUrl=https%3A%2F%2Fcharter.example%2Fcredentials%2Fbdg_1%3Fx%3D1" in query
    params = parse_qs(query)
    assert params["organizationId"] == ["1234567"]
    assert "organizationName" not in params
    assert params["issueMonth"] == ["12"]
    assert "expirationYear" not in params
    assert "expirationMonth" not in params


def test_linkedin_url_needs_an_organization():
    with pytest.raises(ValueError, match="organization"):
        add_to_profile_url(
            name="X",
            issued=datetime(2026, 1, 1, tzinfo=UTC),
            credential_url="https://charter.example/credentials/bdg_1",
            credential_id="bdg_1",
        )


def test_the_page_uses_the_configured_linkedin_organization(app, client, issued):
    credential, _ = issued
    app.state.settings = app.state.settings.model_copy(
        update={"linkedin_organization_id": "987654"}
    )
    page = client.get(f"/credentials/{credential.id}").text
    assert "organizationId=987654" in html.unescape(page)
    assert "organizationName=" not in html.unescape(page)


def test_the_embed_may_be_framed_anywhere_and_sets_no_cookie(client, issued):
    credential, _ = issued
    response = client.get(f"/credentials/{credential.id}/embed")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors *" in csp
    assert "frame-ancestors 'none'" not in csp
    assert "x-frame-options" not in response.headers
    assert "set-cookie" not in response.headers
    page = response.text
    assert 'data-status="valid"' in page
    assert "Cloud Architect &lt;Professional&gt;" in page
    assert f'href="/credentials/{credential.id}" target="_blank" rel="noopener"' in page
    assert "<script" not in page
    assert "@example.com" not in page


def test_only_the_embed_relaxes_framing(client, issued):
    credential, _ = issued
    for path in ("", "/badge.png"):
        csp = client.get(f"/credentials/{credential.id}{path}").headers["content-security-policy"]
        assert "frame-ancestors *" not in csp


def test_the_page_shows_the_embed_snippet_escaped(client, issued, settings):
    credential, _ = issued
    page = client.get(f"/credentials/{credential.id}").text
    match = re.search(r'<textarea id="embed-snippet"[^>]*>([^<]*)</textarea>', page)
    assert match, "the snippet is not in a textarea (or is not escaped)"
    snippet = html.unescape(match.group(1))
    src = f"{settings.public_url}/credentials/{credential.id}/embed"
    assert snippet.startswith(f'<iframe src="{src}"')
    # The certification's name is escaped inside the snippet too: it is HTML of its own.
    assert "Cloud Architect &lt;Professional&gt;" in snippet
    assert 'id="copy-snippet"' in page


@pytest.mark.parametrize(
    "path",
    [
        "/credentials/bdg_01JAAAAAAAAAAAAAAAAAAAAAAA",
        "/credentials/not-an-id",
        "/credentials/awd_01JAAAAAAAAAAAAAAAAAAAAAAA",
        "/credentials/%3Cscript%3E",
    ],
)
def test_unknown_credentials_are_a_404_page(client, db, path):
    response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text
    assert "<script>" not in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_unknown_credentials_are_problem_details_for_machines(client, db):
    missing = "bdg_01JAAAAAAAAAAAAAAAAAAAAAAA"
    for path, headers in [
        (f"/credentials/{missing}", {"Accept": "application/ld+json"}),
        (f"/credentials/{missing}.json", {}),
        (f"/credentials/{missing}/badge.png", {}),
        (f"/credentials/{missing}/badge.svg", {}),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    embed = client.get(f"/credentials/{missing}/embed")
    assert embed.status_code == 404
    assert "frame-ancestors *" in embed.headers["content-security-policy"]


def test_a_reissued_credential_points_to_its_replacement(client, db, system, issued):
    credential, _ = issued
    new = issuance.reissue_credential(db, system, credential_id=credential.id, reason="name fix")
    new_id = new.id
    db.commit()
    page = client.get(f"/credentials/{credential.id}").text
    assert _banner(page) == "revoked"
    assert f'href="/credentials/{new_id}"' in page
    assert _banner(client.get(f"/credentials/{new_id}").text) == "valid"
    # The replacement is a different document, served as stored.
    stored = json.loads(client.get(f"/credentials/{new_id}.json").content)
    assert stored["id"].endswith(new_id)


def test_the_holders_name_appears_only_when_they_chose_to_show_it(client, db, system, issued):
    from charter.partners import people as people_service
    from charter.partners import service as partners_service
    from charter.partners.schemas import PersonUpdate

    credential, award_id = issued
    url = f"/credentials/{credential.id}"
    person_id = service.get_award(db, system, award_id=award_id).person_id
    name = partners_service.get_person(db, system, person_id=person_id).display_name
    db.rollback()
    assert name not in client.get(url, headers={"Accept": BROWSER_ACCEPT}).text

    people_service.update_person(
        db, system, person_id=person_id, data=PersonUpdate(show_name_publicly=True)
    )
    db.commit()
    page = client.get(url, headers={"Accept": BROWSER_ACCEPT}).text
    assert name in page
    assert "Certified professional" not in page


def _custom_track_credential(db, system, *, code: str, colour: str | None) -> str:
    """A credential of a certification on a track the program added (with ``colour``)."""
    from charter.partners import taxonomy
    from charter.partners.taxonomy_schemas import TaxonomyEntryCreate

    taxonomy.add_entry(
        db,
        system,
        data=TaxonomyEntryCreate(kind="track", code=code, label=code.title(), colour=colour),
    )
    firm = partner(db, system)
    holder = person(db, system, partner_id=firm.id)
    cert = certification(db, system, track=code, validity_days=365)
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    credential = issuance.current_credential_for_award(db, awarded.id)
    assert credential is not None
    db.commit()
    return credential.id


def test_a_custom_track_draws_its_badge_in_its_own_colour(client, db, system, engine):
    from charter.partners import colours

    coloured = _custom_track_credential(db, system, code="presales", colour="#0e7090")
    picked = _custom_track_credential(db, system, code="alliances", colour=None)
    statements: list[str] = []

    def seen(connection, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        image = client.get(f"/credentials/{coloured}/badge.svg")
        page = client.get(f"/credentials/{coloured}", headers={"Accept": BROWSER_ACCEPT})
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert image.status_code == 200
    assert b"#0e7090" in image.content
    assert page.status_code == 200
    # The colour is read once, for the image drawn; the page reads no taxonomy for it.
    assert len([s for s in statements if "taxonomy_entries" in s]) == 1

    fallback = client.get(f"/credentials/{picked}/badge.svg").content
    assert colours.palette_colour("alliances").encode() in fallback
