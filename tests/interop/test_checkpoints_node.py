"""Signed checkpoints of the events log check with `jose` (Node) and the DID document alone."""

from __future__ import annotations

import base64
import json

from charter.config import Settings
from charter.crypto import checkpoints, keyring
from tests.core.factories import touch
from tests.interop.conftest import node_check_checkpoint


def test_a_checkpoint_verifies_with_jose_against_the_did_document(db, system, settings: Settings):
    web = settings.model_copy(update={"public_url": "https://badges.example.com"})
    db.info["settings"] = web
    touch(db, 3)
    db.commit()
    row = checkpoints.create_checkpoint(db, system)
    db.commit()
    document = keyring.did_document(db, web)
    result = node_check_checkpoint({"jws": row.jws, "didDocument": document})
    assert result["verified"], result
    assert result["payload"]["seq"] == row.seq
    assert result["payload"]["hash"] == row.hash
    assert result["payload"]["issuer"] == "did:web:badges.example.com"
    assert result["header"]["kid"] == row.verification_method

    # One byte of the statement changed: the signature no longer holds.
    header, payload, signature = row.jws.split(".")
    statement = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    statement["seq"] -= 1
    altered = base64.urlsafe_b64encode(json.dumps(statement).encode()).decode().rstrip("=")
    refused = node_check_checkpoint(
        {"jws": f"{header}.{altered}.{signature}", "didDocument": document}
    )
    assert not refused["verified"]
