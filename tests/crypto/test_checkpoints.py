"""Signed checkpoints of the events log: a truncated or rewritten history, or a forged or
altered checkpoint, is found; an untouched history passes (on SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text, update

from charter.config import Settings
from charter.core import eventhash, eventstore, eventverify
from charter.core.auth import Principal, Role
from charter.core.errors import Conflict, Forbidden, Invalid
from charter.core.models import Event, EventChainHead
from charter.crypto import checkpoints, checkpointverify, dids, handlers, keyring, keys
from charter.crypto.models import EventCheckpoint
from tests.core.factories import touch

# -- how someone who can write the database rewrites the log so that its chain still verifies


def rehash_from(db, first: int) -> None:
    """Re-chain every entry from ``first`` on after an edit, and move the head to the last."""
    prev = db.scalar(select(Event.hash).where(Event.seq == first - 1)) or eventhash.GENESIS_HASH
    rows = db.scalars(select(Event).where(Event.seq >= first).order_by(Event.seq)).all()
    last = first - 1
    for row in rows:
        fields = {name: getattr(row, name) for name in eventhash.HASHED_FIELDS}
        fields["prev_hash"] = prev
        prev = eventhash.entry_hash(fields)
        db.execute(
            update(Event)
            .where(Event.seq == row.seq)
            .values(prev_hash=fields["prev_hash"], hash=prev)
        )
        last = row.seq
    db.execute(
        update(EventChainHead)
        .where(EventChainHead.id == eventstore.HEAD_ID)
        .values(seq=last, hash=prev)
    )
    db.commit()


def truncate_to(db, last: int) -> None:
    """Remove every entry after ``last`` and move the head back to it."""
    db.execute(text("DELETE FROM events WHERE seq > :last"), {"last": last})
    kept = db.scalar(select(Event.hash).where(Event.seq == last))
    db.execute(
        update(EventChainHead)
        .where(EventChainHead.id == eventstore.HEAD_ID)
        .values(seq=last, hash=kept)
    )
    db.commit()


def checkpoint(db, actor: Principal) -> EventCheckpoint:
    row = checkpoints.create_checkpoint(db, actor)
    db.commit()
    return row


def exported(db) -> list[str]:
    return checkpoints.jsonl(checkpoints.all_checkpoints(db)).splitlines()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture
def logged(db, system):
    """Six entries and a checkpoint of them, exported."""
    touch(db, 6)
    db.commit()
    checkpoint(db, system)
    return exported(db)


# -- an untouched history


def test_an_untouched_history_passes_every_checkpoint(db, system, logged):
    touch(db, 3)
    db.commit()
    checkpoint(db, system)
    touch(db, 2)
    db.commit()
    report = checkpointverify.verify_checkpoints(db, exported(db))
    assert report.ok, report.findings
    assert report.held == 2
    assert report.latest is not None
    # Six entries, the first key's creation, then three more.
    assert report.latest.seq == report.latest.count == 10
    assert report.chain.checked == 12


def test_a_checkpoint_states_the_head_and_its_key(db, system, logged):
    line = json.loads(logged[0])
    head = db.get(EventChainHead, eventstore.HEAD_ID)
    signer = keyring.active_signer(db, db.info["settings"])
    assert (line["seq"], line["hash"], line["count"]) == (head.seq, head.hash, head.seq)
    assert line["verification_method"] == signer.verification_method
    header = json.loads(unb64(line["jws"].split(".")[0]))
    assert header == {
        "alg": "Ed25519",
        "kid": signer.verification_method,
        "typ": "charter-checkpoint+jws",
    }


def test_the_signature_checks_with_the_public_key_alone(db, system, settings):
    """Anyone holding the issuer's DID document checks a checkpoint without Charter's code:
    the signature is Ed25519 over the JWS signing input (RFC 7515)."""
    web = settings.model_copy(update={"public_url": "https://badges.example.com"})
    db.info["settings"] = web
    touch(db, 2)
    db.commit()
    checkpoint(db, system)
    line = json.loads(exported(db)[0])
    header, payload, signature = line["jws"].split(".")
    document = keyring.did_document(db, web)
    kid = json.loads(unb64(header))["kid"]
    (method,) = [m for m in document["verificationMethod"] if m["id"] == kid]
    public_key = keys.public_key_from_multibase(method["publicKeyMultibase"])
    public_key.verify(unb64(signature), f"{header}.{payload}".encode("ascii"))
    statement = json.loads(unb64(payload))
    assert statement["issuer"] == "did:web:badges.example.com"
    assert statement["seq"] == line["seq"]


# -- a shortened history


def test_removing_the_last_entries_and_moving_the_head_is_found(db, system, logged):
    truncate_to(db, 4)
    assert eventverify.verify_chain(db).ok  # the chain alone cannot tell
    report = checkpointverify.verify_checkpoints(db, logged)
    assert not report.ok
    [finding] = report.findings
    assert finding.kind == "truncated"
    assert "ends at entry #4" in finding.message
    assert "#7" in finding.message


def test_truncating_and_appending_past_the_checkpoint_is_found(db, system, logged):
    truncate_to(db, 4)
    touch(db, 5)
    db.commit()
    assert eventverify.verify_chain(db).ok
    [finding] = checkpointverify.verify_checkpoints(db, logged).findings
    assert finding.kind == "rewritten"
    assert "entry #7" in finding.message


# -- a rewritten history


def test_rehashing_the_whole_chain_after_an_edit_is_found(db, system, logged):
    db.execute(update(Event).where(Event.seq == 2).values(payload={"index": 1, "note": "forged"}))
    db.commit()
    rehash_from(db, 2)
    assert eventverify.verify_chain(db).ok  # the chain alone cannot tell
    report = checkpointverify.verify_checkpoints(db, logged)
    [finding] = report.findings
    assert finding.kind == "rewritten"
    assert "entry #7" in finding.message
    assert "rewritten" in finding.message


def test_an_edit_the_chain_shows_is_reported_beside_the_checkpoints(db, system, logged):
    db.execute(update(Event).where(Event.seq == 2).values(payload={"index": 1, "note": "forged"}))
    db.commit()
    report = checkpointverify.verify_checkpoints(db, logged)
    assert not report.ok
    assert not report.chain.ok
    assert report.chain.seq == 2


def test_no_checkpoint_is_signed_over_a_log_rewritten_since_the_last(db, system, logged):
    db.execute(update(Event).where(Event.seq == 2).values(payload={"index": 1, "note": "forged"}))
    db.commit()
    rehash_from(db, 2)
    with pytest.raises(Conflict, match="rewritten"):
        checkpoints.create_checkpoint(db, system)
    db.rollback()
    truncate_to(db, 3)
    with pytest.raises(Conflict, match="removed from the end"):
        checkpoints.create_checkpoint(db, system)


def test_no_checkpoint_is_signed_over_a_log_broken_after_the_last(db, system, logged):
    touch(db, 3)
    db.commit()
    db.execute(update(Event).where(Event.seq == 9).values(payload={"index": 1, "note": "x"}))
    db.commit()
    with pytest.raises(Conflict, match="entry #9"):
        checkpoints.create_checkpoint(db, system)


# -- a forged or altered checkpoint


def test_a_statement_resigned_with_another_key_is_forged(db, system, logged):
    line = json.loads(logged[0])
    header, payload, _ = line["jws"].split(".")
    statement = json.loads(unb64(payload))
    statement["seq"] = 4
    forged_payload = b64(json.dumps(statement).encode())
    signature = Ed25519PrivateKey.generate().sign(f"{header}.{forged_payload}".encode())
    line["jws"] = f"{header}.{forged_payload}.{b64(signature)}"
    line["seq"] = 4
    [finding] = checkpointverify.verify_checkpoints(db, [json.dumps(line)]).findings
    assert finding.kind == "forged"
    assert "signature does not verify" in finding.message


def test_a_checkpoint_signed_by_a_key_that_is_not_the_issuers_is_forged(db, system, logged):
    stranger = Ed25519PrivateKey.generate()
    did = dids.did_key_from_public(stranger.public_key())
    line = json.loads(logged[0])
    statement = checkpoints.Statement.of(json.loads(unb64(line["jws"].split(".")[1])))
    fake = checkpoints.Statement(
        issuer=did,
        verification_method=dids.did_key_verification_method(did),
        seq=statement.seq,
        hash=statement.hash,
        count=statement.count,
        checkpointed_at=statement.checkpointed_at,
    )
    forged = fake.line(checkpoints.sign_statement(fake, stranger))
    [finding] = checkpointverify.verify_checkpoints(db, [json.dumps(forged)]).findings
    assert finding.kind == "forged"
    assert "none of this issuer's keys" in finding.message


def test_an_altered_line_or_a_line_that_is_no_checkpoint_is_found(db, system, logged):
    line = json.loads(logged[0])
    line["seq"] = 3
    report = checkpointverify.verify_checkpoints(
        db, [json.dumps(line), "not json", '{"seq": 1}', '{"jws": "a.b"}']
    )
    assert [finding.kind for finding in report.findings] == ["tampered"] * 4
    assert "its seq reads 3" in report.findings[0].message
    assert report.held == 0


def test_a_file_without_checkpoints_is_refused(db, system, logged):
    with pytest.raises(Invalid) as raised:
        checkpointverify.verify_checkpoints(db, ["", "  "])
    assert raised.value.errors[0].field == "checkpoints"


def test_checkpoints_signed_before_a_key_rotation_keep_verifying(db, system, logged):
    keyring.rotate_key(db, system, db.info["settings"])
    touch(db, 1)
    db.commit()
    checkpoint(db, system)
    lines = exported(db)
    kids = {json.loads(line)["verification_method"] for line in lines}
    assert len(kids) == 2
    report = checkpointverify.verify_checkpoints(db, lines)
    assert report.ok, report.findings
    assert report.held == 2


def test_a_did_key_checkpoint_holds_even_if_its_key_row_is_edited(db, system, logged):
    """A did:key is its own public key: editing the stored copy changes nothing it verifies."""
    from charter.crypto.models import SigningKey

    other = keys.public_key_multibase(Ed25519PrivateKey.generate().public_key())
    db.execute(update(SigningKey).values(public_key_multibase=other))
    db.commit()
    assert checkpointverify.verify_checkpoints(db, logged).ok


# -- who signs them, and when


def test_an_empty_log_has_nothing_to_checkpoint(db, system):
    with pytest.raises(Conflict, match="empty"):
        checkpoints.create_checkpoint(db, system)


def test_partner_staff_may_not_sign_checkpoints(db, system, logged):
    member = Principal.for_user(
        user_id="usr_1", role=Role.PARTNER_MEMBER, partner_id="prt_1", name="Partner member"
    )
    with pytest.raises(Forbidden):
        checkpoints.create_checkpoint(db, member)
    auditor = Principal.for_user(user_id="usr_2", role=Role.AUDITOR, partner_id=None, name="A")
    assert checkpoints.create_checkpoint(db, auditor).seq == 7


def test_the_worker_signs_one_per_interval_while_the_log_grows(
    db, system, frozen_clock, settings: Settings
):
    db.info["settings"] = settings.model_copy(update={"audit_checkpoint_minutes": 60})

    def run() -> int:
        handlers.checkpoint_events_log(db, system, frozen_clock.now())
        db.commit()
        return len(checkpoints.all_checkpoints(db))

    assert run() == 0  # an empty log
    touch(db, 2)
    db.commit()
    assert run() == 0  # no key yet: the timer does not make the issuer's first one
    keyring.active_signer(db, db.info["settings"])
    db.commit()
    assert run() == 1
    touch(db, 1)
    db.commit()
    frozen_clock.set(frozen_clock.now() + timedelta(minutes=59))
    assert run() == 1  # too soon
    frozen_clock.set(frozen_clock.now() + timedelta(minutes=1))
    assert run() == 2
    frozen_clock.set(frozen_clock.now() + timedelta(hours=5))
    assert run() == 2  # nothing new to vouch for
    db.info["settings"] = settings.model_copy(update={"audit_checkpoint_minutes": 0})
    touch(db, 1)
    db.commit()
    assert run() == 2  # only on demand


# -- published


def test_the_checkpoints_are_published_as_json_lines_with_an_etag(client, db, system, logged):
    response = client.get("/audit/checkpoints")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jsonl")
    assert response.text.splitlines() == logged
    again = client.get("/audit/checkpoints", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    checkpoint(db, system)
    changed = client.get("/audit/checkpoints", headers={"If-None-Match": response.headers["etag"]})
    assert changed.status_code == 200
    assert len(changed.text.splitlines()) == 2


def test_the_published_list_comes_in_pages(client, db, system, logged):
    for _ in range(2):
        touch(db, 1)
        db.commit()
        checkpoint(db, system)
    first = client.get("/audit/checkpoints", params={"limit": 2})
    assert len(first.text.splitlines()) == 2
    following = first.links["next"]["url"]
    rest = client.get(following)
    assert rest.text.splitlines() == exported(db)[2:]
    assert "link" not in rest.headers
    bad = client.get("/audit/checkpoints", params={"cursor": "nonsense!"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"
