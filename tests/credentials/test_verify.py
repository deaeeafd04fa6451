"""The verifier: published vectors, Charter-signed badges, did:web, status lists, the API route.

The builders at the top (``signer``, ``badge``, ``signed_list``) are shared with the CLI and
interop tests.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.core import clock, outbound
from charter.credentials import baking, jsonld, ob3, proofs, statuslist
from charter.credentials.resolver import (
    ChainResolver,
    HttpResolver,
    OfflineResolver,
    ResolveError,
)
from charter.credentials.verify import MAX_DOCUMENTS, LocalStatus, Verdict, verify_credential
from charter.credentials.verify_api import configure
from charter.crypto import dids

VECTORS = Path(__file__).parent / "vectors"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
LIST_URL = "https://partners.acme.example/status/revocation/1"
SUSPENSION_URL = "https://partners.acme.example/status/suspension/1"


# ---- builders shared with the CLI and interop tests -------------------------------------------


@dataclass(frozen=True)
class Signer:
    """An issuer identity: its key, DID (controller) and verification method."""

    key: Ed25519PrivateKey
    did: str
    method: str
    documents: dict[str, dict[str, Any]]

    def sign(self, document: dict[str, Any]) -> dict[str, Any]:
        """``document`` with Charter's eddsa-rdfc-2022 proof by this key."""
        return proofs.create_proof(
            document, self.key, self.method, datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
        )


def seeded_key(seed: int) -> Ed25519PrivateKey:
    """A deterministic Ed25519 key."""
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def did_key_signer(seed: int = 1) -> Signer:
    """An issuer identified by the ``did:key`` of a seeded key."""
    key = seeded_key(seed)
    did = dids.did_key_from_public(key.public_key())
    return Signer(key, did, dids.did_key_verification_method(did), {})


def did_web_signer(seed: int = 2, host: str = "partners.acme.example") -> Signer:
    """An issuer identified by ``did:web:host``; ``documents`` holds its DID document."""
    key = seeded_key(seed)
    did = f"did:web:{host}"
    document = dids.did_web_document(did, [("key-1", key.public_key())])
    return Signer(key, did, f"{did}#key-1", {dids.did_web_document_url(did): document})


def badge(
    issuer: str,
    *,
    valid_from: datetime = datetime(2025, 1, 15, 9, 30, tzinfo=UTC),
    valid_until: datetime | None = datetime(2027, 1, 15, 9, 30, tzinfo=UTC),
    status: dict[str, str] | None = None,
    credential_id: str = "urn:uuid:0f1b6a64-3cde-4c36-9e8c-3f3f1b0b7d21",
) -> dict[str, Any]:
    """An unsigned OB 3.0 badge as Charter issues it."""
    return ob3.build_credential(
        credential_id=credential_id,
        issuer=ob3.IssuerProfile(
            id=issuer, name="Acme Software Partner Program", url="https://partners.acme.example"
        ),
        achievement=ob3.AchievementInfo(
            id="https://partners.acme.example/certifications/cloud-architect",
            name="Acme Certified Cloud Architect",
            description="Designs and operates Acme Cloud deployments for customers.",
            criteria_narrative="Pass the Cloud Architect exam with a score of 80% or more.",
        ),
        subject=ob3.SubjectInfo(email="dana@firm.example", salt="c0ffee15"),
        valid_from=valid_from,
        valid_until=valid_until,
        status_entries=[status] if status else [],
    )


def signed_list(
    signer: Signer,
    url: str = LIST_URL,
    set_indexes: tuple[int, ...] = (),
    purpose: statuslist.StatusPurpose = "revocation",
    *,
    issuer: str | None = None,
) -> dict[str, Any]:
    """A signed BitstringStatusListCredential with the given bits set."""
    bits = statuslist.StatusBits()
    for index in set_indexes:
        bits.set(index)
    unsigned = statuslist.status_list_credential(
        list_url=url,
        issuer_id=issuer or signer.did,
        purpose=purpose,
        encoded_list=statuslist.encode(bits),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return signer.sign(unsigned)


def ob_example() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """1EdTech's signed OB 3.0 example and its controller document (by URL)."""
    example = json.loads((VECTORS / "ob3-example" / "signed-credential.json").read_text())
    vector = json.loads((VECTORS / "ob3-example" / "key-and-hashes.json").read_text())
    method = {
        "id": vector["verificationMethod"],
        "type": "Multikey",
        "controller": vector["controller"],
        "publicKeyMultibase": vector["publicKeyMultibase"],
    }
    controller = {
        "@context": [dids.DID_V1_CONTEXT, dids.MULTIKEY_V1_CONTEXT],
        "id": vector["controller"],
        "assertionMethod": [method],
    }
    return example, {vector["controller"]: controller}


def check(document: dict[str, Any], documents: dict[str, Any] | None = None, **kw: Any) -> Verdict:
    """Verify offline with the given documents at :data:`NOW`."""
    return verify_credential(
        document, resolver=OfflineResolver(documents or {}), now=kw.pop("now", NOW), **kw
    )


def failing(verdict: Verdict) -> set[str]:
    """Names of the checks that failed."""
    return {c.name for c in verdict.checks if not c.ok}


# ---- published vectors ------------------------------------------------------------------------


def test_1edtech_example_verifies_with_its_controller_document() -> None:
    example, documents = ob_example()
    verdict = check(example, documents)
    assert verdict.status == "valid", verdict.reason
    assert verdict.reason is None
    assert [c.name for c in verdict.checks] == [
        "contexts",
        "types",
        "schema",
        "safe_mode",
        "proof",
        "controller",
        "dates",
        "status",
    ]
    assert all(c.ok for c in verdict.checks)
    assert verdict.issuer == "https://example.edu/issuers/565049"
    assert verdict.issuer_name == "Example Corp"
    assert verdict.achievement_name == "Teamwork"
    assert verdict.valid_from == datetime(2010, 1, 1, tzinfo=UTC)


EDITS: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("name", lambda d: d.update(name="Teamwork Badge!")),
    ("issuer name", lambda d: d["issuer"].update(name="Evil Corp")),
    ("validFrom", lambda d: d.update(validFrom="2010-01-02T00:00:00Z")),
    ("subject", lambda d: d["credentialSubject"].update(id="did:example:mallory")),
    ("achievement", lambda d: d["credentialSubject"]["achievement"].update(name="Leadership")),
    ("proof created", lambda d: d["proof"].update(created="2010-01-01T19:23:25Z")),
    ("validUntil added", lambda d: d.update(validUntil="2099-01-01T00:00:00Z")),
]


@pytest.mark.parametrize("edit", EDITS, ids=[name for name, _ in EDITS])
def test_any_edit_to_the_1edtech_example_fails_the_proof(
    edit: tuple[str, Callable[[dict[str, Any]], None]],
) -> None:
    example, documents = ob_example()
    edit[1](example)
    verdict = check(example, documents)
    assert verdict.status == "invalid"
    assert "proof" in failing(verdict)
    assert "signature does not match" in (verdict.reason or "")


def test_1edtech_example_without_its_controller_document_cannot_be_verified() -> None:
    example, _ = ob_example()
    verdict = check(example)
    assert verdict.status == "invalid"
    assert "cannot be resolved" in verdict.check("proof").detail


def test_key_not_listed_for_assertion_is_refused() -> None:
    example, documents = ob_example()
    controller = next(iter(documents.values()))
    controller["verificationMethod"] = controller.pop("assertionMethod")
    verdict = check(example, documents)
    assert verdict.status == "invalid"
    assert "does not list" in verdict.check("proof").detail


def test_w3c_vector_proof_verifies_but_its_issuer_is_not_the_key_controller() -> None:
    vector = json.loads((VECTORS / "vc-di-eddsa" / "signedDataInt.json").read_text())
    verdict = check(vector)
    assert verdict.check("proof").ok
    assert not verdict.check("controller").ok
    assert "https://vc.example/issuers/5678" in verdict.check("controller").detail
    assert verdict.status == "invalid"


def test_edited_w3c_vector_fails_the_proof() -> None:
    vector = json.loads((VECTORS / "vc-di-eddsa" / "signedDataInt.json").read_text())
    vector["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    verdict = check(vector)
    assert not verdict.check("proof").ok


# ---- Charter-signed badges --------------------------------------------------------------------


def test_charter_badge_signed_with_did_key_is_valid() -> None:
    signer = did_key_signer()
    verdict = check(signer.sign(badge(signer.did)))
    assert verdict.status == "valid", verdict.reason
    assert verdict.achievement_name == "Acme Certified Cloud Architect"
    assert verdict.valid_until == datetime(2027, 1, 15, 9, 30, tzinfo=UTC)


def test_dates_give_expired_and_not_yet_valid() -> None:
    signer = did_key_signer()
    signed = signer.sign(badge(signer.did))
    expired = check(signed, now=datetime(2027, 1, 15, 9, 31, tzinfo=UTC))
    assert expired.status == "expired"
    assert expired.reason == "expired on 2027-01-15T09:30:00Z"
    early = check(signed, now=datetime(2025, 1, 15, 9, 29, tzinfo=UTC))
    assert early.status == "not_yet_valid"
    assert failing(early) == {"dates"}


def test_credential_signed_by_another_key_is_invalid() -> None:
    issuer, other = did_key_signer(1), did_key_signer(3)
    # The other key signs a badge claiming the first issuer.
    verdict = check(other.sign(badge(issuer.did)))
    assert verdict.status == "invalid"
    assert failing(verdict) == {"controller", "status"}
    assert "not to the issuer" in (verdict.reason or "")


def test_key_claimed_but_not_held_fails_the_proof() -> None:
    issuer, forger = did_key_signer(1), did_key_signer(3)
    forged = proofs.create_proof(badge(issuer.did), forger.key, issuer.method, NOW)
    verdict = check(forged)
    assert verdict.status == "invalid"
    assert not verdict.check("proof").ok


def test_undefined_term_fails_safe_mode_even_though_the_signature_still_matches() -> None:
    signer = did_key_signer()
    signed = signer.sign(badge(signer.did))
    signed["partnerTier"] = "gold"  # not in any context: JSON-LD drops it, so the hash is same
    verdict = check(signed)
    assert verdict.status == "invalid"
    assert "safe_mode" in failing(verdict)
    assert "partnerTier" in verdict.check("safe_mode").detail


def test_unknown_context_is_never_fetched_and_is_invalid() -> None:
    signer = did_key_signer()
    signed = signer.sign(badge(signer.did))
    signed["@context"].append("https://evil.example/context.json")
    verdict = check(signed)
    assert verdict.status == "invalid"
    assert "not known to Charter" in verdict.check("contexts").detail
    assert verdict.check("proof").detail.startswith("not checked")


def test_missing_proof_is_invalid() -> None:
    signer = did_key_signer()
    verdict = check(badge(signer.did))
    assert verdict.status == "invalid"
    assert verdict.reason == "the credential has no proof"


def test_unsupported_cryptosuite_is_named() -> None:
    signer = did_key_signer()
    signed = signer.sign(badge(signer.did))
    signed["proof"][0]["cryptosuite"] = "eddsa-jcs-2022"
    assert "eddsa-rdfc-2022 only" in (check(signed).reason or "")


def test_did_web_issuer_verifies_with_its_document() -> None:
    signer = did_web_signer()
    verdict = check(signer.sign(badge(signer.did)), signer.documents)
    assert verdict.status == "valid", verdict.reason


def test_did_web_document_for_another_did_is_refused() -> None:
    signer = did_web_signer()
    documents = copy.deepcopy(signer.documents)
    next(iter(documents.values()))["id"] = "did:web:evil.example"
    verdict = check(signer.sign(badge(signer.did)), documents)
    assert verdict.status == "invalid"
    assert not verdict.check("proof").ok


def test_did_web_key_rotated_out_of_the_document_fails() -> None:
    signer = did_web_signer()
    replacement = did_web_signer(seed=9)  # same DID, a different key under #key-1
    verdict = check(signer.sign(badge(signer.did)), replacement.documents)
    assert verdict.status == "invalid"
    assert "signature does not match" in verdict.check("proof").detail


# ---- status -----------------------------------------------------------------------------------


def _badge_with_status(
    signer: Signer, index: int = 4242, url: str = LIST_URL, **kw: Any
) -> dict[str, Any]:
    purpose: statuslist.StatusPurpose = "suspension" if "suspension" in url else "revocation"
    entry = statuslist.status_entry(url, index, purpose)
    return signer.sign(badge(signer.did, status=entry, **kw))


def test_clear_status_bit_is_valid_and_set_bit_is_revoked() -> None:
    signer = did_key_signer()
    signed = _badge_with_status(signer)
    clean = check(signed, {LIST_URL: signed_list(signer, set_indexes=(4241, 4243))})
    assert clean.status == "valid", clean.reason
    revoked = check(signed, {LIST_URL: signed_list(signer, set_indexes=(4242,))})
    assert revoked.status == "revoked"
    assert "index 4242" in (revoked.reason or "")


def test_suspension_list_entry_gives_suspended() -> None:
    signer = did_key_signer()
    signed = _badge_with_status(signer, url=SUSPENSION_URL)
    listing = signed_list(signer, SUSPENSION_URL, (4242,), "suspension")
    assert check(signed, {SUSPENSION_URL: listing}).status == "suspended"


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("other issuer", "issued by"),
        ("forged bits", "proof is not valid"),
        ("too short", "minimum"),
        ("wrong purpose", "not a revocation list"),
        ("missing", "cannot be retrieved"),
    ],
)
def test_untrustworthy_status_lists_make_the_status_unknown(tamper: str, expected: str) -> None:
    signer = did_key_signer()
    signed = _badge_with_status(signer)
    other = did_key_signer(7)
    documents: dict[str, Any] = {}
    if tamper == "other issuer":
        documents[LIST_URL] = signed_list(other, set_indexes=())
    elif tamper == "forged bits":
        listing = signed_list(signer)
        bits = statuslist.StatusBits()
        bits.set(4242)
        listing["credentialSubject"]["encodedList"] = statuslist.encode(bits)
        documents[LIST_URL] = listing
    elif tamper == "too short":
        unsigned = signed_list(signer)
        del unsigned["proof"]
        short = statuslist.StatusBits.from_bytes(bytes(1000), allow_short=True)
        unsigned["credentialSubject"]["encodedList"] = statuslist.encode(short)
        documents[LIST_URL] = signer.sign(unsigned)
    elif tamper == "wrong purpose":
        documents[LIST_URL] = signed_list(signer, purpose="suspension")
    verdict = check(signed, documents)
    assert verdict.status == "invalid"
    assert expected in verdict.check("status").detail


def test_a_status_list_checked_before_vouches_only_for_its_exact_document() -> None:
    # The verdict of a list's proof is kept between verifications; a list whose bits were
    # changed under the same proof, or the same list claimed by another key, is checked anew.
    signer = did_key_signer()
    signed = _badge_with_status(signer)
    listing = signed_list(signer)
    for _ in range(2):
        assert check(signed, {LIST_URL: listing}).status == "valid"
    forged = json.loads(json.dumps(listing))
    bits = statuslist.StatusBits()
    bits.set(4242)
    forged["credentialSubject"]["encodedList"] = statuslist.encode(bits)
    verdict = check(signed, {LIST_URL: forged})
    assert verdict.status == "invalid"
    assert "proof is not valid" in verdict.check("status").detail
    assert check(signed, {LIST_URL: listing}).status == "valid"
    # The same list and proof, named as another issuer's key: that key never signed it.
    other = did_key_signer(7)
    claimed = json.loads(json.dumps(listing).replace(signer.did, other.did))
    assert (
        check(
            other.sign(badge(other.did, status=signed["credentialStatus"])), {LIST_URL: claimed}
        ).status
        == "invalid"
    )


def test_known_shapes_are_verified_without_json_ld_processing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = did_key_signer()
    signed = _badge_with_status(signer)
    documents = {LIST_URL: signed_list(signer)}
    assert check(signed, documents).status == "valid"  # the shapes are compiled once

    def refuse(document: dict[str, Any]) -> Any:
        raise AssertionError("pyld processed a credential of a known shape")

    for name in ("expand", "canonicalize", "to_nquads", "dropped_terms"):
        monkeypatch.setattr(jsonld, name, refuse)
    verdict = check(signed, documents)
    assert verdict.status == "valid", verdict.reason
    assert all(item.ok for item in verdict.checks)


def test_own_records_report_suspension_and_revocation_reason() -> None:
    signer = did_key_signer()
    signed = _badge_with_status(signer)
    listing = {LIST_URL: signed_list(signer)}
    credential_id = signed["id"]

    def suspended(cid: str) -> LocalStatus | None:
        if cid != credential_id:
            return None
        return LocalStatus(verification_method=signer.method, suspended=True)

    assert check(signed, listing, local_status=suspended).status == "suspended"

    def revoked(cid: str) -> LocalStatus | None:
        return LocalStatus(
            verification_method=signer.method,
            revoked=True,
            revocation_reason="exam fraud",
            suspended=True,
        )

    verdict = check(signed, listing, local_status=revoked)
    assert verdict.status == "revoked"
    assert verdict.reason == "revoked: exam fraud"
    # Not ours: the lookup says nothing, the list decides.
    assert check(signed, listing, local_status=lambda cid: None).status == "valid"


def test_own_records_do_not_speak_for_a_document_signed_with_another_key() -> None:
    """A document reusing one of Charter's credential ids, signed with someone else's did:key,
    does not borrow Charter's records: its own status entry must be checked, and here cannot."""
    charter = did_key_signer(1)
    stranger = did_key_signer(7)
    charter_id = "https://partners.acme.example/credentials/bdg_01JCHARTERCREDENTIAL00001"
    borrowed = _badge_with_status(
        stranger, url="https://stranger.example/status/1", credential_id=charter_id
    )

    def records(cid: str) -> LocalStatus | None:
        # What Charter's records say about its own credential with that id: active.
        return LocalStatus(verification_method=charter.method) if cid == charter_id else None

    verdict = check(borrowed, {}, local_status=records)
    assert verdict.status == "invalid"
    assert verdict.reason is not None
    assert "status cannot be checked" in verdict.reason
    # Charter's own credential under that id, signed with Charter's key, still gets them.
    own = _badge_with_status(
        charter, url="https://unreachable.example/status/1", credential_id=charter_id
    )
    assert check(own, {}, local_status=records).status == "valid"


def test_verdict_order_invalid_revoked_suspended_expired() -> None:
    signer = did_key_signer()
    signed = _badge_with_status(signer)
    listing = {LIST_URL: signed_list(signer, set_indexes=(4242,))}
    late = datetime(2028, 1, 1, tzinfo=UTC)

    def suspended(cid: str) -> LocalStatus:
        return LocalStatus(verification_method=signer.method, suspended=True)

    assert check(signed, listing, now=late).status == "revoked"  # revoked beats expired
    clean = {LIST_URL: signed_list(signer)}
    assert check(signed, clean, now=late, local_status=suspended).status == "suspended"
    broken = copy.deepcopy(signed)
    broken["name"] = "Edited"
    assert check(broken, listing, now=late).status == "invalid"


# ---- resolvers --------------------------------------------------------------------------------


def _transport(routes: dict[str, httpx.Response], calls: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return routes.get(str(request.url), httpx.Response(404))

    return httpx.MockTransport(handler)


def test_http_resolver_fetches_https_and_serves_offline_from_its_cache(
    tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    signer = did_web_signer()
    url, document = next(iter(signer.documents.items()))
    calls: list[str] = []
    client = httpx.Client(transport=_transport({url: httpx.Response(200, json=document)}, calls))
    online = HttpResolver(client, cache_dir=tmp_path, ttl=timedelta(minutes=5))
    assert online.fetch_json(url) == document
    assert online.fetch_json(url + "#key-1") == document  # fragment is not part of the request
    assert calls == [url]  # the second came from the cache
    frozen_clock.advance(timedelta(minutes=6))
    online.fetch_json(url)
    assert len(calls) == 2  # stale: fetched again

    offline = HttpResolver(None, cache_dir=tmp_path)
    verdict = verify_credential(signer.sign(badge(signer.did)), resolver=offline, now=NOW)
    assert verdict.status == "valid", verdict.reason
    with pytest.raises(ResolveError, match="offline"):
        offline.fetch_json("https://elsewhere.example/did.json")


@pytest.mark.parametrize(
    "url",
    [
        "http://partners.acme.example/.well-known/did.json",
        "ftp://partners.acme.example/did.json",
        "file:///etc/passwd",
        "https://user:pw@partners.acme.example/did.json",
    ],
)
def test_http_resolver_refuses_plain_http_and_other_schemes(url: str) -> None:
    calls: list[str] = []
    resolver = HttpResolver(httpx.Client(transport=_transport({}, calls)))
    with pytest.raises(ResolveError):
        resolver.fetch_json(url)
    assert calls == []


def test_http_resolver_allows_loopback_http_and_refuses_redirects_to_http() -> None:
    calls: list[str] = []
    routes = {
        "http://127.0.0.1:8000/did.json": httpx.Response(200, json={"id": "x"}),
        "https://a.example/k": httpx.Response(302, headers={"location": "http://a.example/k"}),
    }
    resolver = HttpResolver(httpx.Client(transport=_transport(routes, calls)))
    assert resolver.fetch_json("http://127.0.0.1:8000/did.json") == {"id": "x"}
    with pytest.raises(ResolveError, match="only https"):
        resolver.fetch_json("https://a.example/k")


def test_http_resolver_bounds_size_and_wants_a_json_object() -> None:
    routes = {
        "https://a.example/big": httpx.Response(200, content=b"{" + b" " * 5000 + b"}"),
        "https://a.example/list": httpx.Response(200, json=[1, 2]),
        "https://a.example/html": httpx.Response(200, content=b"<html>"),
    }
    resolver = HttpResolver(httpx.Client(transport=_transport(routes, [])), max_bytes=1000)
    with pytest.raises(ResolveError, match="larger than"):
        resolver.fetch_json("https://a.example/big")
    with pytest.raises(ResolveError, match="not a JSON object"):
        resolver.fetch_json("https://a.example/list")
    with pytest.raises(ResolveError, match="not JSON"):
        resolver.fetch_json("https://a.example/html")
    with pytest.raises(ResolveError, match="HTTP 404"):
        resolver.fetch_json("https://a.example/none")


def test_chain_resolver_falls_through_in_order() -> None:
    first = OfflineResolver({"https://a.example/x": {"from": "first"}})
    second = OfflineResolver({"https://a.example/x": {"from": "second"}, "https://b/y": {}})
    chain = ChainResolver(first, second)
    assert chain.fetch_json("https://a.example/x") == {"from": "first"}
    assert chain.fetch_json("https://b/y") == {}
    with pytest.raises(ResolveError):
        chain.fetch_json("https://c.example/z")


# ---- POST /api/v1/verify ----------------------------------------------------------------------


def test_api_verifies_json_without_login(client: Any, app: Any) -> None:
    signer = did_key_signer()
    signed = _badge_with_status(signer)
    configure(app, resolver=OfflineResolver({LIST_URL: signed_list(signer, set_indexes=(4242,))}))
    response = client.post("/api/v1/verify", json={"credential": signed})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "revoked"
    assert body["achievement_name"] == "Acme Certified Cloud Architect"
    assert {c["name"] for c in body["checks"] if not c["ok"]} == {"status"}
    assert "set-cookie" not in response.headers


def test_api_reports_invalid_credentials_with_200(client: Any) -> None:
    example, _ = ob_example()
    response = client.post("/api/v1/verify", json={"credential": example})
    assert response.status_code == 200
    assert response.json()["status"] == "invalid"
    assert "cannot be resolved" in response.json()["reason"]


@pytest.mark.parametrize(
    "body",
    [{"credential": {"hello": "world"}}, {"credential": 5}, {"something": "else"}, [1, 2]],
)
def test_api_refuses_what_is_not_a_credential_with_a_problem(client: Any, body: Any) -> None:
    response = client.post("/api/v1/verify", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "credential"


def test_api_accepts_baked_png_and_svg_uploads(client: Any) -> None:
    signer = did_key_signer()
    text = json.dumps(signer.sign(badge(signer.did)))
    png = baking.bake_png(baking.default_badge_png("Cloud Architect", "Acme", "#0a7d4f"), text)
    svg = baking.bake_svg(baking.default_badge_svg("Cloud Architect", "Acme"), text)
    for name, data, kind in (("b.png", png, "image/png"), ("b.svg", svg, "image/svg+xml")):
        response = client.post("/api/v1/verify", files={"file": (name, io.BytesIO(data), kind)})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "valid"
    raw = client.post("/api/v1/verify", content=png, headers={"content-type": "image/png"})
    assert raw.json()["status"] == "valid"
    plain = client.post(
        "/api/v1/verify", files={"file": ("b.png", io.BytesIO(b"\x89PNG\r\n\x1a\nxx"), "image/png")}
    )
    assert plain.status_code == 422


def test_api_refuses_oversized_bodies(client: Any) -> None:
    response = client.post(
        "/api/v1/verify",
        content=b"{" + b" " * (9 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


def test_api_anonymous_post_with_an_idempotency_key_still_works(client: Any) -> None:
    signer = did_key_signer()
    signed = signer.sign(badge(signer.did))
    response = client.post(
        "/api/v1/verify", json={"credential": signed}, headers={"Idempotency-Key": "abc-1"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "valid"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/key.json",
        "https://localhost/did.json",
        "https://10.1.2.3/did.json",
        "https://[::127.0.0.1]/did.json",
        "https://[64:ff9b::7f00:1]/did.json",
        "https://[::ffff:169.254.169.254]/latest",
    ],
)
def test_the_servers_resolver_does_not_fetch_private_addresses(url: str) -> None:
    with outbound.guarded_client() as client, pytest.raises(ResolveError, match="not a public"):
        HttpResolver(client).fetch_json(url)


def test_the_document_cache_keeps_the_newest_within_its_bounds(
    tmp_path: Path, frozen_clock: clock.FrozenClock
) -> None:
    routes = {
        f"https://a.example/{n}": httpx.Response(200, json={"n": n, "pad": "x" * 500})
        for n in range(6)
    }
    calls: list[str] = []
    client = httpx.Client(transport=_transport(routes, calls))
    by_count = HttpResolver(client, cache_dir=tmp_path / "count", cache_entries=3)
    for n in range(6):
        by_count.fetch_json(f"https://a.example/{n}")
        frozen_clock.advance(timedelta(seconds=1))
    assert len(list((tmp_path / "count").iterdir())) == 3
    offline = HttpResolver(None, cache_dir=tmp_path / "count")
    assert offline.fetch_json("https://a.example/5")["n"] == 5
    with pytest.raises(ResolveError, match="not cached"):
        offline.fetch_json("https://a.example/0")

    by_size = HttpResolver(client, cache_dir=tmp_path / "size", cache_bytes=2000)
    for n in range(6):
        by_size.fetch_json(f"https://a.example/{n}")
    stored = list((tmp_path / "size").iterdir())
    assert 0 < len(stored) < 6
    assert sum(path.stat().st_size for path in stored) <= 2000


def test_one_verification_fetches_a_bounded_number_of_documents() -> None:
    signer = did_key_signer()
    document = badge(signer.did)
    document["credentialStatus"] = [
        statuslist.status_entry(f"https://lists.example/{n}", 1, "revocation") for n in range(40)
    ]
    asked: list[str] = []

    class Counting(OfflineResolver):
        def fetch_json(self, url: str) -> dict[str, Any]:
            asked.append(url)
            return super().fetch_json(url)

    verdict = verify_credential(signer.sign(document), resolver=Counting(), now=NOW)
    assert verdict.status == "invalid"
    assert len(asked) == MAX_DOCUMENTS
    assert f"more than {MAX_DOCUMENTS} documents" in verdict.check("status").detail
