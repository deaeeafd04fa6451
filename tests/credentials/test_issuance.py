"""Every award is a signed OB 3.0 credential: issue, revoke, suspend, reinstate, renew."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from charter.core.auth import Role
from charter.core.errors import Conflict, Forbidden, Invalid, NotFound
from charter.core.models import Event
from charter.credentials import issuance, ob3, service, statuslist
from charter.credentials.bulk import pipeline
from charter.credentials.enums import CredentialStatus
from charter.credentials.imports import import_awards
from charter.credentials.models import Award, IssuedCredential
from charter.credentials.schemas import AwardCreate
from charter.crypto import keyring
from charter.partners import people as partners
from charter.partners.schemas import PersonUpdate
from tests.credentials.factories import HOLDER_DID, award, credential_of, many_awards, verifies
from tests.partners.factories import partner, person
from tests.programs.factories import certification, passing_evidence

DAY = timedelta(days=1)


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
    assert document["awardedDate"] == document["validFrom"]
    assert document["validUntil"] == ob3.format_timestamp(awarded.valid_until)
    assert isinstance(document["proof"], list)  # the official OB 3.0 schema wants an array
    signer = keyring.active_signer(db, issuing)
    assert document["issuer"]["id"] == signer.controller
    assert document["issuer"]["name"] == "Charter demo issuer"
    assert document["proof"][0]["verificationMethod"] == signer.verification_method
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


def test_a_suspension_is_published_on_the_revocation_list_and_reinstating_issues_anew(
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
    # The credential's one status entry is its revocation entry: every verifier reads it.
    assert bit(*revocation)
    assert bit(*suspension)
    with sessions() as db:
        suspended = issuance.get_credential(db, credential.id)
        assert suspended.status is CredentialStatus.SUSPENDED
        assert suspended.status_reason == "audit pending"
    with sessions() as db, db.begin():
        db.info["settings"] = settings
        with pytest.raises(Conflict, match="suspended"):
            issuance.reissue_credential(db, system, credential_id=credential.id, reason="fix")
    with sessions() as db, db.begin():
        db.info["settings"] = settings
        service.reinstate_award(db, system, award_id=awarded.id, reason="audit passed")
        new = credential_of(db, awarded.id)
        old = issuance.get_credential(db, credential.id)
        assert verifies(db, new.document)
    assert new.id != credential.id
    assert new.status is CredentialStatus.ACTIVE
    assert old.status is CredentialStatus.REVOKED
    assert old.superseded_by_id == new.id
    assert bit(*revocation)  # a revocation is for good: the old credential stays revoked
    assert not bit(*suspension)
    assert not bit(new.revocation_list_id, new.revocation_index)
    with sessions() as db:
        reinstated = db.scalar(select(Event).where(Event.type == "credential.reinstated"))
        assert reinstated.subject_id == credential.id
        assert reinstated.payload["new_credential_id"] == new.id
    with sessions() as db, db.begin():
        service.revoke_award(db, system, award_id=awarded.id, reason="left the program")
    assert bit(new.revocation_list_id, new.revocation_index)


@pytest.fixture
def governance(make):
    # Made before any fixture writes: on SQLite a second writer would wait for the first.
    return make.login(Role.GOVERNANCE_OWNER).principal


def test_reinstating_needs_only_the_revoke_permission(
    governance, db, system, issuing, holder, cert
):
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    service.suspend_award(db, governance, award_id=awarded.id, reason="audit pending")
    service.reinstate_award(db, governance, award_id=awarded.id)
    assert credential_of(db, awarded.id).status is CredentialStatus.ACTIVE


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
    # OB 3.0: validFrom is when this credential comes into force, awardedDate when the
    # achievement was awarded.
    assert renewed.renewed_at is not None
    assert new.document["validFrom"] == ob3.format_timestamp(renewed.renewed_at)
    assert new.document["awardedDate"] == ob3.format_timestamp(awarded.issued_at)
    assert new.valid_from == renewed.renewed_at
    assert ob3.validate_credential(new.document) == []
    assert verifies(db, new.document)
    previous = issuance.get_credential(db, old.id)
    assert previous.status is CredentialStatus.REVOKED
    assert previous.status_reason == "superseded by renewal"
    assert previous.superseded_by_id == new.id
    assert _bit(db, old.revocation_list_id, old.revocation_index, issuing)
    assert not _bit(db, new.revocation_list_id, new.revocation_index, issuing)
    stored = db.scalars(
        select(IssuedCredential.id)
        .where(IssuedCredential.award_id == awarded.id)
        .order_by(IssuedCredential.created_at, IssuedCredential.id)
    ).all()
    assert stored == [old.id, new.id]


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


@pytest.mark.parametrize("pool", [False, True], ids=["single", "bulk"])
def test_a_holder_with_a_did_is_the_credential_subject(db, system, issuing, monkeypatch, pool):
    made = many_awards(db, system, 4)
    holder = made[0].person_id
    partners.update_person(db, system, person_id=holder, data=PersonUpdate(did=HOLDER_DID))
    if pool:
        monkeypatch.setattr(pipeline, "PROCESS_POOL_THRESHOLD", 4)
        monkeypatch.setattr(pipeline, "SIGN_CHUNK", 3)
        pipeline.issue_credentials_bulk(db, system, made, issuing, workers=2)
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
