"""``POST /api/v1/verify`` against hostile input: borrowed ids, deep nesting, internal URLs, and
what an unexpected error leaves in the log."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from charter.credentials import documents, issuance, service, statuslist, verify_api
from charter.credentials.verify import MAX_DEPTH
from tests.codes import Track
from tests.credentials.factories import award
from tests.credentials.test_verify import badge, did_key_signer
from tests.partners.factories import partner, person
from tests.programs.factories import certification


def _nested(levels: int) -> dict[str, Any]:
    inner: dict[str, Any] = {}
    for _ in range(levels - 1):
        inner = {"a": inner}
    return inner


def _verify(client: Any, body: bytes) -> httpx.Response:
    response: httpx.Response = client.post(
        "/api/v1/verify", content=body, headers={"content-type": "application/json"}
    )
    return response


def test_a_document_reusing_a_charter_credential_id_gets_no_status_from_charter(
    client: Any, sessions: Any, system: Any, settings: Any
) -> None:
    with sessions() as db, db.begin():
        db.info["settings"] = settings
        holder = person(db, system, partner_id=partner(db, system).id)
        cert = certification(db, system, track=Track.TECHNICAL, validity_days=365)
        awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
        issued = issuance.current_credential_for_award(db, awarded.id)
        assert issued is not None
        credential_id = issued.id
    charter_url = documents.credential_url(settings, credential_id)
    genuine = client.get(f"/credentials/{credential_id}.json").json()
    assert client.post("/api/v1/verify", json={"credential": genuine}).json()["status"] == "valid"

    # Someone else's did:key signs a document under that id, with a status list no one can
    # reach: Charter's records must not stand in for it.
    stranger = did_key_signer(7)
    entry = statuslist.status_entry("https://10.0.0.1/status/1", 5, "revocation")
    borrowed = stranger.sign(badge(stranger.did, credential_id=charter_url, status=entry))
    response = client.post("/api/v1/verify", json={"credential": borrowed})
    assert response.status_code == 200, response.text
    verdict = response.json()
    assert verdict["status"] == "invalid"
    assert "status cannot be checked" in verdict["reason"]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"credential": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        json.dumps({"credential": {"@context": [], "proof": {}, "x": _nested(500)}}).encode(),
        json.dumps({"credential": json.dumps({"proof": {}, "x": _nested(MAX_DEPTH)})}).encode(),
    ],
    ids=["array-1000", "array-5000", "credential-500", "credential-as-text"],
)
def test_deeply_nested_input_is_a_400_naming_the_credential(
    client: Any, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = _verify(client, body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "credential"
    assert "nested deeper than" in response.json()["detail"]
    assert caplog.records == []


def test_a_credential_as_deep_as_allowed_gets_a_verdict(client: Any) -> None:
    signer = did_key_signer()
    document = signer.sign(badge(signer.did))
    # The credential is level 1; its subject 2; the extra value fills the rest.
    document["credentialSubject"]["extra"] = _nested(MAX_DEPTH - 2)
    response = client.post("/api/v1/verify", json={"credential": document})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "invalid"  # the extra term is not in the @context
    deeper = copy.deepcopy(document)
    deeper["credentialSubject"]["extra"] = _nested(MAX_DEPTH - 1)
    assert client.post("/api/v1/verify", json={"credential": deeper}).status_code == 400


@pytest.mark.parametrize(
    "method",
    [
        "https://[::127.0.0.1]/keys/1",
        "https://[64:ff9b::7f00:1]/keys/1",
        "https://[::ffff:127.0.0.1]/keys/1",
        "https://127.0.0.1/keys/1",
    ],
)
def test_the_verifier_does_not_fetch_keys_from_internal_addresses(client: Any, method: str) -> None:
    signer = did_key_signer()
    document = signer.sign(badge(signer.did))
    document["proof"][0]["verificationMethod"] = method + "#key-1"
    verdict = client.post("/api/v1/verify", json={"credential": document}).json()
    assert verdict["status"] == "invalid"
    [proof] = [check for check in verdict["checks"] if check["name"] == "proof"]
    assert "not a public address" in proof["detail"]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged() -> Iterator[_Records]:
    """Every record of Charter's and the server's loggers, wherever they propagate."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in ("charter", "uvicorn.error", "uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def test_an_unexpected_error_is_logged_once_with_a_bounded_traceback(
    live_server: str, logged: _Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(depth: int) -> None:
        down(depth + 1)

    def broken(*args: object, **kwargs: object) -> None:
        # A fault deep inside: a recursion's traceback runs to hundreds of kilobytes.
        down(0)

    monkeypatch.setattr(verify_api, "verify_credential", broken)
    signer = did_key_signer()
    document = signer.sign(badge(signer.did))
    response = httpx.post(f"{live_server}/api/v1/verify", json={"credential": document})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = [record for record in logged.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1, [record.getMessage()[:80] for record in errors]
    text = logging.Formatter().format(errors[0])
    assert "POST /api/v1/verify" in text
    assert "RecursionError" in text
    assert len(text) < 20_000


def test_a_revocation_committed_after_a_verdict_is_in_the_next_one(
    client: Any, sessions: Any, system: Any, settings: Any
) -> None:
    with sessions() as db, db.begin():
        db.info["settings"] = settings
        holder = person(db, system, partner_id=partner(db, system).id)
        cert = certification(db, system, track=Track.TECHNICAL, validity_days=365)
        awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
        issued = issuance.current_credential_for_award(db, awarded.id)
        assert issued is not None
    genuine = client.get(f"/credentials/{issued.id}.json").json()
    # Twice: the second verdict comes from what the route keeps between database changes.
    for _ in range(2):
        verdict = client.post("/api/v1/verify", json={"credential": genuine}).json()
        assert verdict["status"] == "valid", verdict

    with sessions() as db, db.begin():
        db.info["settings"] = settings
        service.revoke_award(db, system, award_id=awarded.id, reason="exam fraud")

    verdict = client.post("/api/v1/verify", json={"credential": genuine}).json()
    assert verdict["status"] == "revoked", verdict
    assert "exam fraud" in (verdict["reason"] or ""), verdict
