"""Every award is a signed OB 3.0 credential: issue, revoke, suspend, reinstate, renew, bulk."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, text

from charter.core import events
from charter.core.auth import Role
from charter.core.errors import Conflict, Forbidden, Invalid, NotFound
from charter.core.models import Event, EventChainHead
from charter.credentials import issuance, ob3, proofs, service, statuslist
from charter.credentials.imports import import_awards
from charter.credentials.models import Award, CredentialStatus, IssuedCredential, StatusListEntry
from charter.credentials.schemas import AwardCreate
from charter.crypto import keyring
from charter.partners import people as partners
from charter.partners.models import Person
from charter.partners.schemas import PersonUpdate
from charter.programs import service as programs
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification, passing_evidence

DAY = timedelta(days=1)


@pytest.fixture
def issuing(db, settings):
    """The test session signs with the test settings (as the app's sessions do)."""
    db.info["settings"] = settings
    return settings


@pytest.fixture
def firm(db, system):
    return partner(db, system)


@pytest.fixture
def holder(db, system, firm):
    return person(db, system, partner_id=firm.id)


@pytest.fixture
def cert(db, system):
    return certification(
        db, system, validity_days=365, renewal_window_days=60, narrative="Pass exam CX-100."
    )


def credential_of(db, award_id: str) -> issuance.PublicCredential:
    found = issuance.current_credential_for_award(db, award_id)
    assert found is not None
    return found


def verifies(db, document: dict) -> bool:
    public_key = keyring.public_key_for(db, document["proof"]["verificationMethod"])
    return public_key is not None and proofs.verify_proof(document, public_key)


def test_issuing_an_award_stores_a_signed_conforming_credential(
    db, system, issuing, frozen_clock, holder, cert
):
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    credential = credential_of(db, awarded.id)
    document = credential.document

    assert verifies(db, document)
    assert ob3.validate_credential(document) == []
    base = issuing.public_url
    assert document["id"] == f"{base}/credentials/{credential.id}"
    assert credential.id.startswith("bdg_")
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["id"] == f"{base}/achievements/{cert.code}"
    assert achievement["criteria"]["narrative"] == "Pass exam CX-100."
    assert achievement["name"] == cert.name
    assert document["validFrom"] == ob3.format_timestamp(awarded.issued_at)
    assert document["validUntil"] == ob3.format_timestamp(awarded.valid_until)
    signer = keyring.active_signer(db, issuing)
    assert document["issuer"]["id"] == signer.controller
    assert document["issuer"]["name"] == "Charter demo issuer"
    assert document["proof"]["verificationMethod"] == signer.verification_method
    entry = document["credentialStatus"]
    assert entry["statusPurpose"] == "revocation"
    assert entry["statusListCredential"] == f"{base}/status/{credential.revocation_list_id}"
    assert entry["statusListIndex"] == str(credential.revocation_index)
    assert credential.status is CredentialStatus.ACTIVE


def test_the_holder_is_identified_by_a_salted_hash_of_the_primary_email_only(
    db, system, issuing, holder, cert
):
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    credential = credential_of(db, awarded.id)
    email = holder.primary_email
    assert email is not None
    assert email not in credential.document_text
    identity = credential.document["credentialSubject"]["identifier"][0]
    row = db.get(IssuedCredential, credential.id)
    assert identity["identityHash"] == ob3.identity_hash(email, row.salt)
    assert not hasattr(credential, "salt")
    events = db.scalars(select(Event).where(Event.subject_id == credential.id)).all()
    assert [event.type for event in events] == ["credential.issued"]
    assert email not in json.dumps(events[0].payload)
    assert row.salt not in json.dumps(events[0].payload)


def test_the_stored_text_is_exactly_what_was_signed(db, system, issuing, holder, cert):
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    credential = credential_of(db, awarded.id)
    assert issuance.get_credential(db, credential.id).document_text == credential.document_text
    assert db.get(IssuedCredential, credential.id).document == credential.document_text
    tampered = json.loads(credential.document_text)
    tampered["credentialSubject"]["achievement"]["name"] = "Elite Architect"
    assert not verifies(db, tampered)


def test_an_unknown_credential_is_not_found(db):
    with pytest.raises(NotFound):
        issuance.get_credential(db, "bdg_01M846SY1A21CYVQ0964GRMAS7")
    with pytest.raises(NotFound):
        issuance.get_credential(db, "awd_x")


def _bit(db, list_id: str, index: int, settings) -> bool:
    document, _ = issuance.status.signed_status_list(db, list_id, settings)
    assert verifies(db, document)
    bits = statuslist.StatusBits.from_bytes(
        statuslist.decode(document["credentialSubject"]["encodedList"])
    )
    return bits.get(index)


def test_revoking_an_award_sets_its_revocation_bit(db, system, issuing, holder, cert):
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    credential = credential_of(db, awarded.id)
    list_id, index = credential.revocation_list_id, credential.revocation_index
    assert not _bit(db, list_id, index, issuing)
    service.revoke_award(db, system, award_id=awarded.id, reason="exam fraud")
    assert _bit(db, list_id, index, issuing)
    revoked = issuance.get_credential(db, credential.id)
    assert revoked.status is CredentialStatus.REVOKED
    assert revoked.status_reason == "exam fraud"


def test_suspend_and_reinstate_flip_the_suspension_bit_seen_over_http(
    client, sessions, system, settings
):
    with sessions() as db, db.begin():
        db.info["settings"] = settings
        firm = partner(db, system)
        someone = person(db, system, partner_id=firm.id)
        cert = certification(db, system)
        awarded = award(db, system, person_id=someone.id, certification_id=cert.id)
        credential = credential_of(db, awarded.id)

    def bit(list_id: str, index: int) -> bool:
        response = client.get(f"/status/{list_id}")
        assert response.status_code == 200
        encoded = response.json()["credentialSubject"]["encodedList"]
        return statuslist.StatusBits.from_bytes(statuslist.decode(encoded)).get(index)

    suspension = (credential.suspension_list_id, credential.suspension_index)
    revocation = (credential.revocation_list_id, credential.revocation_index)
    assert not bit(*suspension)
    with sessions() as db, db.begin():
        service.suspend_award(db, system, award_id=awarded.id, reason="audit pending")
    assert bit(*suspension)
    assert not bit(*revocation)
    with sessions() as db:
        assert issuance.get_credential(db, credential.id).status is CredentialStatus.SUSPENDED
    with sessions() as db, db.begin():
        service.reinstate_award(db, system, award_id=awarded.id)
    assert not bit(*suspension)
    with sessions() as db, db.begin():
        service.revoke_award(db, system, award_id=awarded.id, reason="left the program")
    assert bit(*revocation)


def test_renewal_reissues_and_revokes_the_old_credential(
    db, system, issuing, frozen_clock, holder, cert
):
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    old = credential_of(db, awarded.id)
    frozen_clock.advance(320 * DAY)
    passing_evidence(db, system, person_id=holder.id, certification_id=cert.id)
    renewed = service.renew_award(db, system, award_id=awarded.id)
    new = credential_of(db, awarded.id)

    assert new.id != old.id
    assert new.document["validUntil"] == ob3.format_timestamp(renewed.valid_until)
    assert verifies(db, new.document)
    previous = issuance.get_credential(db, old.id)
    assert previous.status is CredentialStatus.REVOKED
    assert previous.status_reason == "superseded by renewal"
    assert previous.superseded_by_id == new.id
    assert _bit(db, old.revocation_list_id, old.revocation_index, issuing)
    assert not _bit(db, new.revocation_list_id, new.revocation_index, issuing)
    assert [c.id for c in issuance.credentials_for_award(db, awarded.id)] == [old.id, new.id]


def test_reissue_makes_a_new_credential_and_revokes_the_old(db, system, issuing, holder, cert):
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    old = credential_of(db, awarded.id)
    with pytest.raises(Invalid):
        issuance.reissue_credential(db, system, credential_id=old.id, reason="  ")
    new = issuance.reissue_credential(
        db, system, credential_id=old.id, reason="holder's name corrected"
    )
    assert new.award_id == awarded.id
    assert issuance.get_credential(db, old.id).status is CredentialStatus.REVOKED
    with pytest.raises(Conflict):
        issuance.reissue_credential(db, system, credential_id=old.id, reason="again")
    reissued = db.scalar(select(Event).where(Event.type == "credential.reissued"))
    assert reissued.payload["new_credential_id"] == new.id


def test_an_award_has_one_live_credential(db, system, issuing, holder, cert):
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    with pytest.raises(Conflict):
        issuance.issue_credential(db, system, award=awarded, settings=issuing)


@pytest.fixture
def auditor(make):
    # Made before any fixture writes: on SQLite a second writer would wait for the first.
    return make.login(Role.AUDITOR).principal


def test_only_issuers_may_issue_credentials(auditor, db, system, issuing, holder, cert):
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    with pytest.raises(Forbidden):
        issuance.reissue_credential(
            db, auditor, credential_id=credential_of(db, awarded.id).id, reason="x"
        )


def test_a_document_with_undefined_terms_is_refused_and_nothing_is_issued(
    db, system, issuing, holder, cert, monkeypatch
):
    build = ob3.build_credential

    def with_extra_term(**kwargs):
        document = build(**kwargs)
        document["credentialSubject"]["partnerTier"] = "gold"
        return document

    monkeypatch.setattr(ob3, "build_credential", with_extra_term)
    passing_evidence(db, system, person_id=holder.id, certification_id=cert.id)
    db.commit()
    with pytest.raises(Invalid) as raised:
        service.issue_award(
            db, system, data=AwardCreate(person_id=holder.id, certification_id=cert.id)
        )
    assert "credentialSubject.partnerTier" in raised.value.detail
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Award)) == 0
    assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 0


def test_a_document_failing_the_ob3_schema_is_refused_with_its_problems(
    db, system, issuing, holder, cert, monkeypatch
):
    build = ob3.build_credential

    def without_achievement_name(**kwargs):
        document = build(**kwargs)
        del document["credentialSubject"]["achievement"]["name"]
        return document

    monkeypatch.setattr(ob3, "build_credential", without_achievement_name)
    passing_evidence(db, system, person_id=holder.id, certification_id=cert.id)
    with pytest.raises(Invalid) as raised:
        service.issue_award(
            db, system, data=AwardCreate(person_id=holder.id, certification_id=cert.id)
        )
    assert "does not conform to Open Badges 3.0" in raised.value.detail
    assert any("achievement" in (error.field or "") for error in raised.value.errors)


def test_a_bad_issuer_url_setting_is_a_clear_error(db, system, settings, holder, cert):
    db.info["settings"] = settings.model_copy(update={"issuer_url": "not a url"})
    passing_evidence(db, system, person_id=holder.id, certification_id=cert.id)
    with pytest.raises(Invalid) as raised:
        service.issue_award(
            db, system, data=AwardCreate(person_id=holder.id, certification_id=cert.id)
        )
    assert "issuer.url" in raised.value.detail


def _awards_for_many(db, system, count: int) -> list[Award]:
    firm = partner(db, system)
    cert = certification(db, system)
    made = []
    for _ in range(count):
        someone = person(db, system, partner_id=firm.id)
        passing_evidence(db, system, person_id=someone.id, certification_id=cert.id)
        version = programs.criteria_in_force(db, certification_id=cert.id, at=issuance.clock.now())
        row = Award(
            id=issuance.new_id("awd"),
            certification_id=cert.id,
            criteria_version_id=version.id,
            subject_type="person",
            person_id=someone.id,
            partner_id=firm.id,
            status="active",
            issued_at=issuance.clock.now(),
            valid_until=issuance.clock.now() + 365 * DAY,
            renewal_count=0,
        )
        db.add(row)
        made.append(row)
    db.flush()
    return made


@pytest.mark.parametrize("pool", [False, True], ids=["in-process", "process-pool"])
def test_bulk_issuance_signs_every_award_once(db, system, issuing, monkeypatch, pool):
    made = _awards_for_many(db, system, 12)
    if pool:
        monkeypatch.setattr(issuance, "PROCESS_POOL_THRESHOLD", 4)
        monkeypatch.setattr(issuance, "SIGN_CHUNK", 3)
    # One award already has its credential: bulk issuance skips it.
    issuance.issue_credential(db, system, award=made[0], settings=issuing)
    created = issuance.issue_credentials_bulk(db, system, made + made[1:3], issuing, workers=2)
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
    assert issuance.issue_credentials_bulk(db, system, made, issuing, workers=2) == []
    issued = db.scalar(
        select(func.count()).select_from(Event).where(Event.type == "credential.issued")
    )
    assert issued == 12


@pytest.mark.parametrize("pool", [False, True], ids=["in-process", "process-pool"])
def test_a_failure_while_storing_stops_the_batch_with_the_database_error(
    db, system, issuing, monkeypatch, pool
):
    # On PostgreSQL a pooled batch is stored from a thread of its own: what fails there must
    # reach the caller as itself (not as the aborted transaction it leaves), and the thread
    # must be gone.
    made = _awards_for_many(db, system, 12)
    if pool:
        monkeypatch.setattr(issuance, "PROCESS_POOL_THRESHOLD", 4)
        monkeypatch.setattr(issuance, "SIGN_CHUNK", 3)
        monkeypatch.setattr(issuance, "STORE_CHUNKS", 1)
    head = db.get(EventChainHead, events.HEAD_ID)
    assert head is not None
    # An entry written past the head, as a broken writer would: the batch's fifth event
    # collides with it.
    db.add(
        Event(
            seq=head.seq + 5,
            id=issuance.new_id("evt"),
            occurred_at=issuance.clock.now(),
            actor_type="system",
            actor_id=None,
            type="test.collision",
            subject_type="test",
            subject_id="test",
            partner_id=None,
            payload={},
            prev_hash="0" * 64,
            hash="0" * 64,
        )
    )
    db.flush()
    with pytest.raises((sa_exc.IntegrityError, psycopg.IntegrityError)) as raised:
        issuance.issue_credentials_bulk(db, system, made, issuing, workers=2)
    assert "events" in str(raised.value)
    assert not [t for t in threading.enumerate() if t.name == "charter-bulk-store"]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 0


def test_a_storing_failure_is_raised_instead_of_what_it_caused(db, system, issuing, monkeypatch):
    # When the storing thread fails, this thread's next statement fails too, on the aborted
    # transaction: the caller must get the first failure, the one that says what went wrong.
    made = _awards_for_many(db, system, 3)

    class Failed:
        def put(self, rows, rendered):
            raise RuntimeError("current transaction is aborted")

        def close(self):
            raise AssertionError("a failed batch is abandoned, not closed")

        def abandon(self):
            return ValueError("duplicate key value violates unique constraint")

    monkeypatch.setattr(issuance, "_store_for", lambda *args, **kwargs: Failed())
    with pytest.raises(ValueError, match="duplicate key"):
        issuance.issue_credentials_bulk(db, system, made, issuing, workers=1)


def test_the_awards_csv_import_issues_a_credential_per_award(db, system, issuing):
    firm = partner(db, system, external_id="P-9")
    cert = certification(db, system)
    people = [person(db, system, partner_id=firm.id, external_id=f"E-{n}") for n in range(3)]
    for someone in people:
        passing_evidence(db, system, person_id=someone.id, certification_id=cert.id)
    lines = ["external_id,person_external_id,certification_code"] + [
        f"W-{n},E-{n},{cert.code}" for n in range(3)
    ]
    report = import_awards(db, system, source="\n".join(lines).encode(), name="awards.csv")
    assert report.created == 3
    for someone in people:
        awarded = db.scalar(select(Award).where(Award.person_id == someone.id))
        assert verifies(db, credential_of(db, awarded.id).document)


def test_bulk_issuance_refuses_a_batch_with_a_bad_document(db, system, issuing, monkeypatch):
    made = _awards_for_many(db, system, 3)
    build = ob3.build_credential

    def with_extra_term(**kwargs):
        document = build(**kwargs)
        document["partnerTier"] = "gold"
        return document

    monkeypatch.setattr(ob3, "build_credential", with_extra_term)
    with pytest.raises(Invalid) as raised:
        issuance.issue_credentials_bulk(db, system, made, issuing, workers=1)
    assert "partnerTier" in raised.value.detail
    db.rollback()
    assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 0


def test_concurrent_award_revocations_lose_no_bit(sessions, system, settings):
    import threading

    with sessions() as db, db.begin():
        firm = partner(db, system)
        cert = certification(db, system)
        awarded = [
            award(
                db,
                system,
                person_id=person(db, system, partner_id=firm.id).id,
                certification_id=cert.id,
            )
            for _ in range(6)
        ]
        credentials = [credential_of(db, a.id) for a in awarded]
    barrier = threading.Barrier(len(awarded))
    errors: list[BaseException] = []

    def revoke(award_id: str) -> None:
        try:
            barrier.wait(timeout=30)
            with sessions() as db, db.begin():
                service.revoke_award(db, system, award_id=award_id, reason="program closed")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=revoke, args=(a.id,)) for a in awarded]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    with sessions() as db, db.begin():
        for credential in credentials:
            assert _bit(db, credential.revocation_list_id, credential.revocation_index, settings)


HOLDER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


@pytest.mark.parametrize("pool", [False, True], ids=["single", "bulk"])
def test_a_holder_with_a_did_is_the_credential_subject(db, system, issuing, monkeypatch, pool):
    made = _awards_for_many(db, system, 4)
    holder = made[0].person_id
    partners.update_person(db, system, person_id=holder, data=PersonUpdate(did=HOLDER_DID))
    if pool:
        monkeypatch.setattr(issuance, "PROCESS_POOL_THRESHOLD", 4)
        monkeypatch.setattr(issuance, "SIGN_CHUNK", 3)
        issuance.issue_credentials_bulk(db, system, made, issuing, workers=2)
    else:
        for row in made:
            issuance.issue_credential(db, system, award=row, settings=issuing)
    with_did = credential_of(db, made[0].id).document
    assert with_did["credentialSubject"]["id"] == HOLDER_DID
    assert with_did["credentialSubject"]["identifier"][0]["hashed"] is True
    assert verifies(db, with_did)
    assert ob3.validate_credential(with_did) == []
    for row in made[1:]:
        assert "id" not in credential_of(db, row.id).document["credentialSubject"]


def test_bulk_credentials_are_byte_identical_to_the_single_path(db, system, issuing, monkeypatch):
    made = _awards_for_many(db, system, 7)
    partners.update_person(
        db, system, person_id=made[2].person_id, data=PersonUpdate(did=HOLDER_DID)
    )
    monkeypatch.setattr(issuance, "PROCESS_POOL_THRESHOLD", 4)
    monkeypatch.setattr(issuance, "SIGN_CHUNK", 2)
    created = issuance.issue_credentials_bulk(db, system, made, issuing, workers=2)
    signer = keyring.active_signer(db, issuing)
    by_award = {row.id: row for row in made}
    for credential_id in created:
        stored = db.get(IssuedCredential, credential_id)
        assert stored is not None
        awarded = by_award[stored.award_id]
        document = issuance._unsigned(
            awarded,
            issuance._load_programs(db, [awarded]),
            issuance._load_holders(db, [awarded]),
            issuing,
            credential_id=stored.id,
            issuer_id=signer.controller,
            salt=stored.salt,
            revocation=(stored.revocation_list_id, stored.revocation_index),
        )
        signed = proofs.create_proof(
            document, signer.private_key, signer.verification_method, stored.issued_at
        )
        assert stored.document == issuance._serialize(signed)
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
    assert events.verify_chain(db).ok


def test_holders_are_loaded_with_their_primary_email_and_did(db, system):
    made = _awards_for_many(db, system, 3)
    first, second, third = (row.person_id for row in made)
    partners.add_person_email(db, system, person_id=first, email="second-address@example.com")
    partners.add_person_email(
        db, system, person_id=second, email="now-primary@example.com", primary=True
    )
    partners.update_person(db, system, person_id=third, data=PersonUpdate(did=HOLDER_DID))
    holders = issuance._load_holders(db, made)
    assert holders.emails == {
        person_id: db.get(Person, person_id).primary_email for person_id in (first, second, third)
    }
    assert holders.emails[second] == "now-primary@example.com"
    assert holders.dids == {third: HOLDER_DID}


def test_bulk_inserts_write_every_credential_column():
    # Bulk issuance writes credential rows through the driver with a fixed column list.
    assert set(issuance._CREDENTIAL_COLUMNS) == set(IssuedCredential.__table__.columns.keys())


def test_signed_documents_are_compressed_with_lz4_on_postgresql(db, backend):
    # Bulk issuance stores one document of a few kilobytes per award: PostgreSQL compresses
    # it with lz4, far cheaper than its default.
    if backend != "postgresql":
        pytest.skip("a PostgreSQL storage option")
    method = db.execute(
        text(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'issued_credentials'::regclass AND attname = 'document'"
        )
    ).scalar_one()
    supported = db.execute(
        text(
            "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' "
            "AND 'lz4' = ANY(enumvals)"
        )
    ).scalar_one()
    assert method == ("l" if supported else "")
