"""Status lists: allocation, bits under concurrency, the signed lists and their HTTP route."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from charter.core import clock
from charter.core.errors import Invalid, NotFound
from charter.credentials import proofs, status, statuslist
from charter.credentials.models import StatusList, StatusListEntry
from charter.crypto import keyring

ISSUER = "did:example:issuer"


def test_allocation_never_repeats_an_index_and_opens_a_new_list_when_full(db):
    handed = status.allocate_many(db, "revocation", 20, controller=ISSUER, size=16)
    pairs = [(row.id, index) for row, index in handed]
    assert len(set(pairs)) == 20
    lists = sorted({row.id for row, _ in handed})
    assert len(lists) == 2
    per_list = {list_id: sum(1 for row_id, _ in pairs if row_id == list_id) for list_id in lists}
    assert sorted(per_list.values()) == [4, 16]
    assert all(0 <= index < 16 for _, index in pairs)
    # One at a time too: the half-full list fills up, then a third list starts.
    for _ in range(12):
        row, index = status.allocate(db, "revocation", controller=ISSUER, size=16)
        assert (row.id, index) not in pairs
        pairs.append((row.id, index))
    assert len(set(pairs)) == 32
    row, index = status.allocate(db, "revocation", controller=ISSUER, size=16)
    assert row.id not in lists
    assert row.used == 1
    assert db.scalar(select(func.count()).select_from(StatusListEntry)) == 33


def test_allocation_is_random_not_sequential(db):
    handed = status.allocate_many(db, "suspension", 50, controller=ISSUER)
    indexes = [index for _, index in handed]
    assert indexes != sorted(indexes)
    assert max(indexes) > 1000  # spread over the whole 131,072-entry list


def test_lists_are_kept_apart_by_purpose_and_issuer(db):
    revocation, _ = status.allocate(db, "revocation", controller=ISSUER)
    suspension, _ = status.allocate(db, "suspension", controller=ISSUER)
    other, _ = status.allocate(db, "revocation", controller="did:example:other")
    assert len({revocation.id, suspension.id, other.id}) == 3
    assert revocation.size == statuslist.MIN_ENTRIES == status.LIST_SIZE


def test_the_database_refuses_the_same_index_twice(db):
    row, index = status.allocate(db, "revocation", controller=ISSUER)
    db.commit()
    db.add(StatusListEntry(list_id=row.id, index=index, created_at=clock.now()))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_an_unknown_purpose_is_refused(db):
    with pytest.raises(Invalid) as raised:
        status.allocate(db, "expiry", controller=ISSUER)
    assert raised.value.errors[0].field == "purpose"


def test_set_bit_flips_and_reports_changes(db):
    row, index = status.allocate(db, "revocation", controller=ISSUER)
    version = row.version
    assert status.set_bit(db, row.id, index, True)
    assert not status.set_bit(db, row.id, index, True)
    assert status.get_bit(db, row.id, index)
    assert status.set_bit(db, row.id, index, False)
    assert not status.get_bit(db, row.id, index)
    assert db.get(StatusList, row.id).version == version + 2
    with pytest.raises(Invalid):
        status.set_bit(db, row.id, statuslist.MIN_ENTRIES, True)


def _list_for(db, settings) -> tuple[StatusList, int]:
    signer = keyring.active_signer(db, settings)
    return status.allocate(db, "revocation", controller=signer.controller)


def test_the_signed_list_verifies_and_is_re_signed_only_after_a_change(db, settings, frozen_clock):
    row, index = _list_for(db, settings)
    first, etag = status.signed_status_list(db, row.id, settings)
    assert first["id"] == status.list_url(settings, row.id)
    assert first["credentialSubject"]["statusPurpose"] == "revocation"
    public_key = keyring.public_key_for(db, first["proof"][0]["verificationMethod"])
    assert public_key is not None
    assert proofs.verify_proof(first, public_key)
    # Later, in the same session: the copy already signed is served, not a new one.
    frozen_clock.advance(timedelta(minutes=1))
    again, same_etag = status.signed_status_list(db, row.id, settings)
    assert (again, same_etag) == (first, etag)

    status.set_bit(db, row.id, index, True)
    changed, new_etag = status.signed_status_list(db, row.id, settings)
    assert new_etag != etag
    bits = statuslist.StatusBits.from_bytes(
        statuslist.decode(changed["credentialSubject"]["encodedList"])
    )
    assert bits.set_indexes() == {index}
    assert proofs.verify_proof(changed, public_key)


def test_get_status_serves_the_signed_list_with_cache_headers(client, sessions, settings):
    with sessions() as db, db.begin():
        row, index = _list_for(db, settings)
        status.set_bit(db, row.id, index, True)
    response = client.get(f"/status/{row.id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vc+ld+json"
    assert response.headers["cache-control"] == "public, max-age=300"
    etag = response.headers["etag"]
    body = response.json()
    assert body["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    bits = statuslist.StatusBits.from_bytes(
        statuslist.decode(body["credentialSubject"]["encodedList"])
    )
    assert bits.set_indexes() == {index}

    unchanged = client.get(f"/status/{row.id}", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag

    with sessions() as db, db.begin():
        status.set_bit(db, row.id, index, False)
    changed = client.get(f"/status/{row.id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


def test_get_status_of_an_unknown_list_is_a_404_problem(client):
    response = client.get("/status/stl_01M846SY1B09RFGXRXCB1RCRRN")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/status/not-an-id").status_code == 404


def test_signed_status_list_of_an_unknown_list_is_not_found(db, settings):
    with pytest.raises(NotFound):
        status.signed_status_list(db, "stl_nope", settings)


def test_concurrent_revocations_lose_no_bit(sessions, settings):
    with sessions() as db, db.begin():
        handed = status.allocate_many(db, "revocation", 24, controller=ISSUER)
    list_ids = {row.id for row, _ in handed}
    assert len(list_ids) == 1
    list_id = next(iter(list_ids))
    indexes = [index for _, index in handed]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def revoke(mine: list[int]) -> None:
        try:
            barrier.wait(timeout=30)
            for index in mine:
                # One transaction per revocation, as the API does it.
                with sessions() as db, db.begin():
                    status.set_bit(db, list_id, index, True)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=revoke, args=(indexes[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    with sessions() as db:
        row = db.get(StatusList, list_id)
        bits = statuslist.StatusBits.from_bytes(row.bits)
        assert bits.set_indexes() == set(indexes)
        assert row.version == 1 + len(indexes)


def test_after_a_did_key_rotation_old_lists_stay_signed_by_their_issuer(db, system, settings):
    old_list, _ = _list_for(db, settings)
    old_signer = keyring.active_signer(db, settings)
    keyring.rotate_key(db, system, settings)
    new_list, _ = _list_for(db, settings)
    assert new_list.id != old_list.id  # a did:key issuer changes with its key: new lists
    old_document, _ = status.signed_status_list(db, old_list.id, settings)
    new_document, _ = status.signed_status_list(db, new_list.id, settings)
    # Verifiers require the list's issuer to be the credential's issuer.
    assert old_document["issuer"] == old_signer.controller
    assert old_document["proof"][0]["verificationMethod"] == old_signer.verification_method
    assert new_document["issuer"] == keyring.active_signer(db, settings).controller
