"""Bulk issuance: every award signed once, byte for byte as the single path signs it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from charter.core.errors import Invalid
from charter.core.eventverify import verify_chain
from charter.core.models import Event
from charter.credentials import documents, issuance, ob3, proofs, sources
from charter.credentials.bulk import pipeline, stores
from charter.credentials.models import IssuedCredential, StatusListEntry
from charter.crypto import keyring
from charter.partners import people as partners
from charter.partners.schemas import PersonUpdate
from tests.credentials.factories import HOLDER_DID, credential_of, many_awards, verifies


@pytest.mark.parametrize("pool", [False, True], ids=["in-process", "process-pool"])
def test_bulk_issuance_signs_every_award_once(db, system, issuing, monkeypatch, pool):
    made = many_awards(db, system, 12)
    if pool:
        monkeypatch.setattr(pipeline, "PROCESS_POOL_THRESHOLD", 4)
        monkeypatch.setattr(pipeline, "SIGN_CHUNK", 3)
    # One award already has its credential: bulk issuance skips it.
    issuance.issue_credential(db, system, award=made[0], settings=issuing)
    created = pipeline.issue_credentials_bulk(db, system, made + made[1:3], issuing, workers=2)
    assert len(created) == 11
    for row in made:
        credential = credential_of(db, row.id)
        assert verifies(db, credential.document)
        assert ob3.validate_credential(credential.document) == []
    entries = {
        (c.revocation_list_id, c.revocation_index)
        for c in (issuance.get_credential(db, i) for i in created)
    }
    assert len(entries) == 11
    # Every index handed out has its entry row (the database's guard against handing it out
    # twice), and no other index has one.
    handed = set()
    for credential in db.scalars(select(IssuedCredential)):
        handed.add((credential.revocation_list_id, credential.revocation_index))
        handed.add((credential.suspension_list_id, credential.suspension_index))
    rows = {
        tuple(row) for row in db.execute(select(StatusListEntry.list_id, StatusListEntry.index))
    }
    assert rows == handed
    assert len(handed) == 24
    assert pipeline.issue_credentials_bulk(db, system, made, issuing, workers=2) == []
    issued = db.scalar(
        select(func.count()).select_from(Event).where(Event.type == "credential.issued")
    )
    assert issued == 12


def test_bulk_issuance_refuses_a_batch_with_a_bad_document(db, system, issuing, monkeypatch):
    made = many_awards(db, system, 3)
    build = ob3.build_credential

    def with_extra_term(**kwargs):
        document = build(**kwargs)
        document["partnerTier"] = "gold"
        return document

    monkeypatch.setattr(ob3, "build_credential", with_extra_term)
    with pytest.raises(Invalid) as raised:
        pipeline.issue_credentials_bulk(db, system, made, issuing, workers=1)
    assert "partnerTier" in raised.value.detail
    db.rollback()
    assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 0


def test_bulk_credentials_are_byte_identical_to_the_single_path(db, system, issuing, monkeypatch):
    made = many_awards(db, system, 7)
    partners.update_person(
        db, system, person_id=made[2].person_id, data=PersonUpdate(did=HOLDER_DID)
    )
    monkeypatch.setattr(pipeline, "PROCESS_POOL_THRESHOLD", 4)
    monkeypatch.setattr(pipeline, "SIGN_CHUNK", 2)
    created = pipeline.issue_credentials_bulk(db, system, made, issuing, workers=2)
    signer = keyring.active_signer(db, issuing)
    by_award = {row.id: row for row in made}
    for credential_id in created:
        stored = db.get(IssuedCredential, credential_id)
        assert stored is not None
        awarded = by_award[stored.award_id]
        document = documents.unsigned_document(
            awarded,
            sources.load_programs(db, [awarded]),
            sources.load_holders(db, [awarded]),
            issuing,
            credential_id=stored.id,
            issuer_id=signer.controller,
            salt=stored.salt,
            revocation=(stored.revocation_list_id, stored.revocation_index),
        )
        signed = proofs.create_proof(
            document, signer.private_key, signer.verification_method, stored.issued_at
        )
        assert stored.document == documents.serialize(signed)
        (issued,) = db.scalars(select(Event).where(Event.subject_id == credential_id)).all()
        assert issued.payload == {
            "award_id": awarded.id,
            "person_id": awarded.person_id,
            "verification_method": signer.verification_method,
            "revocation_list_id": stored.revocation_list_id,
            "revocation_index": stored.revocation_index,
            "valid_from": stored.valid_from.isoformat().replace("+00:00", "Z"),
            "valid_until": stored.valid_until.isoformat().replace("+00:00", "Z"),
        }
    # Each entry's hash, computed by the worker over the payload text it wrote, matches the
    # one recomputed from the stored payload.
    assert verify_chain(db).ok


def test_a_storing_failure_is_raised_instead_of_what_it_caused(db, system, issuing, monkeypatch):
    # When the storing thread fails, this thread's next statement fails too, on the aborted
    # transaction: the caller must get the first failure, the one that says what went wrong.
    made = many_awards(db, system, 3)

    class Failed:
        def put(self, rows, rendered):
            raise RuntimeError("current transaction is aborted")

        def close(self):
            raise AssertionError("a failed batch is abandoned, not closed")

        def abandon(self):
            return ValueError("duplicate key value violates unique constraint")

    monkeypatch.setattr(stores, "store_for", lambda *args, **kwargs: Failed())
    with pytest.raises(ValueError, match="duplicate key"):
        pipeline.issue_credentials_bulk(db, system, made, issuing, workers=1)
