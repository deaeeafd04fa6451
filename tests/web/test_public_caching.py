"""Caching of the public credential routes: tags, 304s, Cache-Control, and what changes them."""

from __future__ import annotations

import pytest

from charter.credentials import issuance, service
from charter.programs import service as programs
from charter.programs.schemas import CertificationUpdate
from charter.web import public
from charter.web.memo import Memo
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification

IMMUTABLE = "public, max-age=31536000, immutable"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def issued(db, system, frozen_clock):
    """A valid credential: its id, its stored text, its award and certification."""
    firm = partner(db, system)
    holder = person(db, system, partner_id=firm.id)
    cert = certification(db, system, track=Track.TECHNICAL, validity_days=365)
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    credential = issuance.current_credential_for_award(db, awarded.id)
    assert credential is not None
    found = (credential.id, credential.document_text, awarded.id, cert.id)
    # Committed, and nothing read afterwards: on SQLite an open transaction locks the app out.
    db.commit()
    return found


def _strong(tag: str) -> str:
    assert tag.startswith('"')
    assert tag.endswith('"')
    assert len(tag) > 2
    return tag


def _revalidates(client, path: str, headers: dict[str, str], etag: str) -> None:
    """Every If-None-Match naming the tag gets a bodiless 304 with the same tag; others 200."""
    for naming in (etag, f'"not-this-one", {etag}', "*", f"W/{etag}"):
        again = client.get(path, headers={**headers, "If-None-Match": naming})
        assert again.status_code == 304, naming
        assert again.content == b""
        assert again.headers["etag"] == etag
    other = client.get(path, headers={**headers, "If-None-Match": '"not-this-one"'})
    assert other.status_code == 200
    assert other.content


JSON_REQUESTS = [
    ("{id}.json", {}, "application/vc+ld+json"),
    ("{id}", {"Accept": "application/vc+ld+json"}, "application/vc+ld+json"),
    ("{id}", {"Accept": "application/ld+json"}, "application/ld+json"),
    ("{id}", {"Accept": "application/json"}, "application/json"),
    ("{id}?format=json", {}, "application/vc+ld+json"),
]


@pytest.mark.parametrize(("path", "headers", "media_type"), JSON_REQUESTS)
def test_the_signed_json_is_its_stored_bytes_cached_for_good(
    client, issued, path, headers, media_type
):
    credential_id, text, _, _ = issued
    url = "/credentials/" + path.format(id=credential_id)
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.content == text.encode("utf-8")
    assert response.headers["content-type"] == media_type
    assert response.headers["cache-control"] == IMMUTABLE
    etag = _strong(response.headers["etag"])
    _revalidates(client, url, headers, etag)
    if "Accept" in headers:
        assert response.headers["vary"] == "Accept"
        again = client.get(url, headers={**headers, "If-None-Match": etag})
        assert again.headers["vary"] == "Accept"
        assert again.headers["cache-control"] == IMMUTABLE


def test_each_json_media_type_has_a_tag_of_its_own(client, issued):
    credential_id, _, _, _ = issued
    tags = {
        media_type: client.get(
            f"/credentials/{credential_id}", headers={"Accept": media_type}
        ).headers["etag"]
        for media_type in ("application/vc+ld+json", "application/ld+json", "application/json")
    }
    assert len(set(tags.values())) == 3
    download = client.get(f"/credentials/{credential_id}.json").headers["etag"]
    assert download == tags["application/vc+ld+json"]


@pytest.mark.parametrize("path", ["", "/embed"])
def test_the_page_and_embed_are_revalidated_on_every_view(client, issued, path):
    credential_id, _, _, _ = issued
    url = f"/credentials/{credential_id}{path}"
    headers = {"Accept": BROWSER_ACCEPT}
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-cache"
    etag = _strong(response.headers["etag"])
    _revalidates(client, url, headers, etag)
    not_modified = client.get(url, headers={**headers, "If-None-Match": etag})
    # The 304 still says how the page may be framed, and how to cache it.
    assert not_modified.headers["cache-control"] == "private, no-cache"
    assert "frame-ancestors" in not_modified.headers["content-security-policy"]


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_baked_images_are_cached_a_day_and_revalidate(client, issued, kind):
    credential_id, _, _, _ = issued
    url = f"/credentials/{credential_id}/badge.{kind}"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=86400"
    etag = _strong(response.headers["etag"])
    _revalidates(client, url, {}, etag)
    assert client.get(url).content == response.content


def test_a_revocation_changes_the_page_embed_and_status_list_but_not_the_signed_bytes(
    client, db, system, issued
):
    credential_id, text, award_id, _ = issued
    paths = {
        "json": (f"/credentials/{credential_id}.json", {}),
        "negotiated": (f"/credentials/{credential_id}", {"Accept": "application/ld+json"}),
        "png": (f"/credentials/{credential_id}/badge.png", {}),
        "svg": (f"/credentials/{credential_id}/badge.svg", {}),
        "page": (f"/credentials/{credential_id}", {"Accept": BROWSER_ACCEPT}),
        "embed": (f"/credentials/{credential_id}/embed", {}),
    }
    status_url = "/status/" + issuance.get_credential(db, credential_id).revocation_list_id
    db.rollback()
    paths["status"] = (status_url, {})
    before = {name: client.get(url, headers=headers) for name, (url, headers) in paths.items()}

    service.revoke_award(db, system, award_id=award_id, reason="left the program")
    db.commit()

    changed = set()
    for name, (url, headers) in paths.items():
        etag = before[name].headers["etag"]
        after = client.get(url, headers={**headers, "If-None-Match": etag})
        if after.status_code == 200:
            changed.add(name)
            assert after.headers["etag"] != etag
        else:
            assert after.status_code == 304
    assert changed == {"page", "embed", "status"}
    assert 'data-status="revoked"' in client.get(paths["embed"][0]).text
    assert client.get(paths["json"][0]).content == text.encode("utf-8")


def test_a_new_design_changes_the_image_and_its_tag(client, db, system, issued, monkeypatch):
    # The server keeps an image in memory for IMAGE_MEMORY_SECONDS; a clock for it to read.
    now = [1000.0]
    memory = Memo(1 << 24, size=lambda image: len(image.data), ttl=60, timer=lambda: now[0])
    monkeypatch.setattr(public, "_images", memory)
    credential_id, text, _, certification_id = issued
    url = f"/credentials/{credential_id}/badge.svg"
    before = client.get(url)
    assert b"#1f6feb" in before.content  # the technical track's colour

    programs.update_certification(
        db,
        system,
        certification_id=certification_id,
        data=CertificationUpdate(track=Track.SALES),
    )
    db.commit()
    # Within the minute, the image kept in memory; then the new design.
    assert client.get(url, headers={"If-None-Match": before.headers["etag"]}).status_code == 304
    now[0] += 61
    after = client.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert b"#b54708" in after.content  # the sales track's colour
    assert b"#1f6feb" not in after.content
    assert text in after.text


def test_the_page_changes_its_tag_when_what_it_shows_changes(client, db, system, issued):
    from charter.partners import people
    from charter.partners.schemas import PersonUpdate

    credential_id, _, award_id, _ = issued
    url = f"/credentials/{credential_id}"
    before = client.get(url, headers={"Accept": BROWSER_ACCEPT})
    person_id = service.get_award(db, system, award_id=award_id).person_id
    people.update_person(
        db, system, person_id=person_id, data=PersonUpdate(show_name_publicly=True)
    )
    db.commit()
    after = client.get(
        url, headers={"Accept": BROWSER_ACCEPT, "If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]


def test_missing_credentials_are_not_cached(client, db):
    missing = "bdg_01JAAAAAAAAAAAAAAAAAAAAAAA"
    for path in ("", "/embed"):
        response = client.get(f"/credentials/{missing}{path}", headers={"If-None-Match": "*"})
        assert response.status_code == 404
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers


def test_a_page_viewed_again_with_no_write_between_is_not_rendered_again(
    client, db, system, issued, monkeypatch
):
    credential_id, _, award_id, _ = issued
    url = f"/credentials/{credential_id}"
    first = client.get(url, headers={"Accept": BROWSER_ACCEPT})
    assert first.status_code == 200

    def no_rendering(*_args: object) -> None:
        raise AssertionError("the page was rendered again")

    monkeypatch.setattr(public, "_credential_page", no_rendering)
    again = client.get(url, headers={"Accept": BROWSER_ACCEPT})
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["content-security-policy"] == first.headers["content-security-policy"]
    monkeypatch.undo()

    # Any write this worker commits makes it render anew: here, the revocation it shows.
    service.revoke_award(db, system, award_id=award_id, reason="test")
    db.commit()
    revoked = client.get(url, headers={"Accept": BROWSER_ACCEPT})
    assert revoked.headers["etag"] != first.headers["etag"]
    assert 'data-status="revoked"' in revoked.text
