"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C vc-di-eddsa §3.3).

Create: ``proofConfig`` (the proof options with the document's ``@context``) and the document
without ``proof`` are each canonicalized with RDFC-1.0 and hashed with SHA-256; Ed25519 signs
``proofHash ‖ docHash``; ``proofValue`` is ``'z'`` + base58btc(signature). Verify recomputes the
same bytes. Signing refuses documents that a safe-mode verifier (Digital Bazaar's) would refuse.

Canonicalization takes :mod:`.fastcanon`'s per-shape fast path by default (byte-identical to
pyld, which it falls back to for anything it cannot template). Pass ``canonicalize`` and
``check_terms`` explicitly, or run inside :func:`general_path`, to use pyld for everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from charter.core.errors import CharterError, Invalid
from charter.credentials import fastcanon, jsonld
from charter.crypto import multibase

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"
SIGNATURE_LENGTH = 64

Canonicalizer = Callable[[dict[str, Any]], str]
TermCheck = Callable[[dict[str, Any]], list[str]]

_force_general: ContextVar[bool] = ContextVar("charter_proofs_force_general", default=False)


@contextmanager
def general_path() -> Iterator[None]:
    """Within this block, proofs canonicalize and check terms with pyld only (for tests)."""
    token = _force_general.set(True)
    try:
        yield
    finally:
        _force_general.reset(token)


def _default_canonicalize(document: dict[str, Any]) -> str:
    if _force_general.get():
        return jsonld.canonicalize(document)
    return fastcanon.canonicalize(document)


def _analyse(
    document: dict[str, Any],
    canonicalize: Canonicalizer | None,
    check_terms: TermCheck | None,
) -> tuple[Callable[[], list[str]], Callable[[], str]]:
    """``(dropped_terms, canonical)`` thunks for a document, scanning it only once when fast."""
    if canonicalize is None and check_terms is None and not _force_general.get():
        analysis = fastcanon.analyse(document)
        return analysis.dropped_terms, analysis.canonicalize
    check = check_terms or (
        jsonld.dropped_terms if _force_general.get() else fastcanon.dropped_terms
    )
    canon = canonicalize or _default_canonicalize
    return (lambda: check(document)), (lambda: canon(document))


def format_created(moment: datetime) -> str:
    """An XMLSchema dateTimeStamp in UTC with second precision (``2024-01-01T00:00:00Z``)."""
    if moment.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def proof_hashes(
    document: dict[str, Any],
    proof_config: dict[str, Any],
    *,
    canonicalize: Canonicalizer | None = None,
) -> tuple[bytes, bytes]:
    """``(proof_hash, doc_hash)``: SHA-256 of the canonical proof config and of the document.

    ``proofValue`` is left out of the config and ``proof`` out of the document, and the config
    takes the document's ``@context``, as the cryptosuite requires.
    """
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    canon = canonicalize or _default_canonicalize
    return _hashes(unsecured, proof_config, canon, lambda: canon(unsecured))


def _hashes(
    unsecured: dict[str, Any],
    proof_config: dict[str, Any],
    canonicalize: Canonicalizer,
    canonical_document: Callable[[], str],
) -> tuple[bytes, bytes]:
    config = {k: v for k, v in proof_config.items() if k not in {"proofValue", "@context"}}
    config["@context"] = unsecured.get("@context")
    proof_hash = hashlib.sha256(canonicalize(config).encode("utf-8")).digest()
    doc_hash = hashlib.sha256(canonical_document().encode("utf-8")).digest()
    return proof_hash, doc_hash


def create_proof(
    document: dict[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    *,
    canonicalize: Canonicalizer | None = None,
    check_terms: TermCheck | None = None,
) -> dict[str, Any]:
    """The document signed with an ``eddsa-rdfc-2022`` ``DataIntegrityProof`` (a new dict).

    Raises :class:`Invalid` if the document is already signed, or uses terms or types its
    ``@context`` does not define (Digital Bazaar's verifier would refuse it).
    ``canonicalize`` and ``check_terms`` default to the fast path (see the module docstring).
    """
    if "proof" in document:
        raise Invalid.field("proof", "the document is already signed")
    if "@context" not in document:
        raise Invalid.field("@context", "is required")
    dropped, canonical = _analyse(document, canonicalize, check_terms)
    jsonld.require_safe(document, lambda _: dropped())
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_created(created),
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }
    canon = canonicalize or _default_canonicalize
    proof_hash, doc_hash = _hashes(document, proof, canon, canonical)
    signature = private_key.sign(proof_hash + doc_hash)
    proof["proofValue"] = multibase.encode_base58btc(signature)
    return {**document, "proof": proof}


def verify_proof(
    document: dict[str, Any],
    public_key: Ed25519PublicKey,
    *,
    canonicalize: Canonicalizer | None = None,
    check_terms: TermCheck | None = None,
) -> bool:
    """Whether the document's single ``eddsa-rdfc-2022`` proof is valid for ``public_key``.

    The caller resolves ``proof.verificationMethod`` to the key (and checks it belongs to the
    issuer). A document with undefined terms is not valid, as in a safe-mode verifier.
    """
    proof = document.get("proof")
    if not isinstance(proof, dict) or not _proof_shape_ok(proof):
        return False
    try:
        signature = multibase.decode_base58btc(proof["proofValue"], field="proof.proofValue")
        if len(signature) != SIGNATURE_LENGTH:
            return False
        unsecured = {k: v for k, v in document.items() if k != "proof"}
        dropped, canonical = _analyse(unsecured, canonicalize, check_terms)
        if dropped():
            return False
        canon = canonicalize or _default_canonicalize
        proof_hash, doc_hash = _hashes(unsecured, proof, canon, canonical)
    except CharterError:
        return False
    try:
        public_key.verify(signature, proof_hash + doc_hash)
    except InvalidSignature:
        return False
    return True


def _proof_shape_ok(proof: dict[str, Any]) -> bool:
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        return False
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        return False
    if not isinstance(proof.get("verificationMethod"), str):
        return False
    if not isinstance(proof.get("proofValue"), str):
        return False
    created = proof.get("created")
    if created is not None:
        try:
            moment = datetime.fromisoformat(str(created))
        except ValueError:
            return False
        if moment.tzinfo is None:
            return False
    return True
