"""GET /status/{id}: the stored signed list, its tag, 304s, and a new tag after a change."""

from __future__ import annotations

import pytest

from charter.credentials import proofs, status
from charter.credentials.models import StatusList
from charter.crypto import keyring


@pytest.fixture
def list_and_index(sessions, settings) -> tuple[str, int]:
    with sessions() as db, db.begin():
        signer = keyring.active_signer(db, settings)
        row, index = status.allocate(db, "revocation", controller=signer.controller)
        return row.id, index


def test_the_list_is_served_as_stored_without_signing_again(
    client, sessions, list_and_index, monkeypatch
):
    list_id, _ = list_and_index
    first = client.get(f"/status/{list_id}")
    assert first.status_code == 200
    with sessions() as db:
        stored = db.get(StatusList, list_id).signed_document
    assert first.content == stored.encode("utf-8")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the list was signed again though no bit changed")

    monkeypatch.setattr(proofs, "create_proof", refuse)
    again = client.get(f"/status/{list_id}")
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]


@pytest.mark.parametrize("naming", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_naming_the_list_is_a_304(client, list_and_index, naming):
    list_id, _ = list_and_index
    first = client.get(f"/status/{list_id}")
    etag = first.headers["etag"]
    assert etag.startswith('"')
    response = client.get(f"/status/{list_id}", headers={"If-None-Match": naming.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == status.CACHE_CONTROL


def test_a_revocation_gives_the_list_a_new_tag_and_body(client, sessions, list_and_index):
    list_id, index = list_and_index
    first = client.get(f"/status/{list_id}")
    with sessions() as db, db.begin():
        status.set_bit(db, list_id, index, True)
    changed = client.get(f"/status/{list_id}", headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert changed.headers["etag"] != first.headers["etag"]
    assert changed.content != first.content
    # The new copy is the stored one from now on.
    again = client.get(f"/status/{list_id}", headers={"If-None-Match": changed.headers["etag"]})
    assert again.status_code == 304
