"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C vc-di-eddsa §3.3).

Create: ``proofConfig`` (the proof options with the document's ``@context``) and the document
without ``proof`` are each canonicalized with RDFC-1.0 and hashed with SHA-256; Ed25519 signs
``proofHash ‖ docHash``; ``proofValue`` is ``'z'`` + base58btc(signature). Verify recomputes the
same bytes. Signing refuses documents that a safe-mode verifier (Digital Bazaar's) would refuse.

A signed document carries its proof as a set of one (``"proof": [{...}]``): the OB 3.0 JSON
schema requires an array, and Data Integrity verifiers read a set of one as they read a single
proof. Verifying accepts both forms.

Canonicalization takes :mod:`.fastcanon`'s per-shape fast path by default (byte-identical to
pyld, which it falls back to for anything it cannot template). Pass ``canonicalize`` and
``check_terms`` explicitly, or run inside :func:`general_path`, to use pyld for everything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from charter.core.errors import CharterError, FieldError, Invalid
from charter.credentials import fastcanon, jsonld
from charter.crypto import ed25519, multibase

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"
SIGNATURE_LENGTH = ed25519.SIGNATURE_LENGTH

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


def dropped_terms(document: dict[str, Any]) -> list[str]:
    """:func:`charter.credentials.jsonld.dropped_terms` on the path proofs take: fast for a
    shape :mod:`.fastcanon` knows, pyld otherwise or inside :func:`general_path`."""
    if _force_general.get():
        return jsonld.dropped_terms(document)
    return fastcanon.dropped_terms(document)


def _analyse(
    document: dict[str, Any],
    canonicalize: Canonicalizer | None,
    check_terms: TermCheck | None,
) -> tuple[Callable[[], list[str]], Callable[[], str]]:
    """``(dropped_terms, canonical)`` thunks for a document, scanning it only once when fast."""
    if canonicalize is None and check_terms is None and not _force_general.get():
        analysis = fastcanon.analyse(document)
        return analysis.dropped_terms, analysis.canonicalize
    check = check_terms or dropped_terms
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
    config_text, document_text = _canonical_forms(
        unsecured, proof_config, canonicalize, canonical_document
    )
    return _sha256(config_text), _sha256(document_text)


def _canonical_forms(
    unsecured: dict[str, Any],
    proof_config: dict[str, Any],
    canonicalize: Canonicalizer,
    canonical_document: Callable[[], str],
) -> tuple[str, str]:
    return canonicalize(_config(unsecured, proof_config)), canonical_document()


def _config(unsecured: dict[str, Any], proof_config: dict[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in proof_config.items() if k not in {"proofValue", "@context"}}
    config["@context"] = unsecured.get("@context")
    return config


def _utf16_form(document: dict[str, Any], canonical: str) -> str:
    """``document``'s canonical form as JavaScript's rdf-canonize writes it (usually the same)."""
    if not jsonld.orders_may_differ(canonical):
        return canonical
    return jsonld.canonicalize_utf16_order(document)


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def _require_one_order(document: dict[str, Any], *forms: tuple[dict[str, Any], str]) -> None:
    """Refuse a document that RDFC-1.0 and JavaScript's rdf-canonize canonicalize differently.

    ``forms`` are (JSON-LD object, its RDFC-1.0 form): the document, the proof configuration.
    RDFC-1.0 sorts by code point, rdf-canonize by UTF-16 code unit; they disagree only where
    two quads first differ at a character above U+FFFF on one side and one in U+E000-U+FFFF on
    the other. No single proof verifies under both orders, so rather than issue a credential
    that half the verifiers reject, signing stops and names the values to change.
    """
    for value, canonical in forms:
        if _utf16_form(value, canonical) != canonical:
            paths = _mixed_paths(document)
            raise Invalid(
                "cannot sign: these values mix characters above U+FFFF (such as emoji) with "
                "characters in U+E000-U+FFFF (such as full-width forms) so that RDFC-1.0 and "
                "JavaScript verifiers (which sort by UTF-16 code unit) canonicalize the "
                "credential differently, and no signature would verify in both: "
                + ", ".join(paths),
                [
                    FieldError(path, "sorts differently in RDFC-1.0 and in JavaScript verifiers")
                    for path in paths
                ],
            )


def _mixed_paths(node: Any, path: str = "") -> list[str]:
    """Paths of the string values holding characters that the two orders treat differently."""
    if isinstance(node, str):
        return [path or "(root)"] if jsonld.order_sensitive(node) else []
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_mixed_paths(value, f"{path}.{key}" if path else key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(_mixed_paths(item, f"{path}[{index}]"))
    return found


def create_proof(
    document: dict[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    *,
    canonicalize: Canonicalizer | None = None,
    check_terms: TermCheck | None = None,
) -> dict[str, Any]:
    """The document signed with an ``eddsa-rdfc-2022`` ``DataIntegrityProof`` (a new dict, its
    ``proof`` a set of one).

    Raises :class:`Invalid` if the document is already signed, or uses terms or types its
    ``@context`` does not define (Digital Bazaar's verifier would refuse it).
    ``canonicalize`` and ``check_terms`` default to the fast path (see the module docstring).
    """
    _require_unsigned(document)
    dropped, canonical = _analyse(document, canonicalize, check_terms)
    jsonld.require_safe(document, lambda _: dropped())
    proof = _proof_options(verification_method, created)
    canon = canonicalize or _default_canonicalize
    config_text, document_text = _canonical_forms(document, proof, canon, canonical)
    _require_one_order(document, (_config(document, proof), config_text), (document, document_text))
    hashes = _sha256(config_text) + _sha256(document_text)
    return _signed(document, proof, ed25519.Signer(private_key), hashes)


def _require_unsigned(document: dict[str, Any]) -> None:
    if "proof" in document:
        raise Invalid.field("proof", "the document is already signed")
    if "@context" not in document:
        raise Invalid.field("@context", "is required")


def _proof_options(verification_method: str, created: datetime) -> dict[str, Any]:
    return {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_created(created),
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }


def _signed(
    document: dict[str, Any],
    proof: dict[str, Any],
    signer: ed25519.Signer,
    hashes: bytes,
) -> dict[str, Any]:
    proof["proofValue"] = multibase.encode_base58btc(signer.sign(hashes))
    return {**document, "proof": [proof]}


def proofs_of(document: dict[str, Any]) -> list[Any]:
    """The document's proofs as a list: a proof set as it is, a single proof as a set of one."""
    value = document.get("proof")
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class BatchSigner:
    """Signs many documents with one key, verification method and ``created`` time.

    Each result is byte-identical to :func:`create_proof` with the same arguments (the same
    checks run on every document); the proof configuration's hash, which depends only on those
    three and the document's ``@context``, is computed once per distinct ``@context`` instead
    of once per document.
    """

    def __init__(
        self, private_key: Ed25519PrivateKey, verification_method: str, created: datetime
    ) -> None:
        self._key = ed25519.Signer(private_key)
        self._options = _proof_options(verification_method, created)
        self._config_hashes: dict[Any, bytes] = {}
        # The proof set's JSON text up to the proof's value (compact, keys in order; the
        # value, base58, needs no escaping).
        self._proof_head = (
            "["
            + json.dumps(self._options, ensure_ascii=False, separators=(",", ":"))[:-1]
            + ',"proofValue":"'
        )

    def sign(self, document: dict[str, Any]) -> dict[str, Any]:
        """The document signed, as :func:`create_proof` would sign it."""
        _require_unsigned(document)
        dropped, canonical = _analyse(document, None, None)
        jsonld.require_safe(document, lambda _: dropped())
        proof_hash = self._proof_hash(document, document["@context"])
        document_text = canonical()
        _require_one_order(document, (document, document_text))
        hashes = proof_hash + _sha256(document_text)
        return _signed(document, dict(self._options), self._key, hashes)

    def proof_text_for(self, context: Any, canonical_document: str) -> str | None:
        """The proof (set) of an unsigned document, given its ``@context`` and canonical form, as
        compact JSON text (as ``json.dumps`` with ``(",", ":")`` separators writes it).

        For documents already checked (safe mode, schema) whose canonical form the caller
        computed; the proof is the one :meth:`sign` would add. ``None`` when the document needs
        :meth:`sign` instead (one whose canonical form JavaScript verifiers compute otherwise,
        which :meth:`sign` refuses with the values named).
        """
        if jsonld.orders_may_differ(canonical_document):
            return None
        proof_hash = self._proof_hash({"@context": context}, context)
        signature = self._key.sign(proof_hash + _sha256(canonical_document))
        return f'{self._proof_head}{multibase.encode_base58btc(signature)}"}}]'

    def _proof_hash(self, document: dict[str, Any], context: Any) -> bytes:
        key = _context_key(context)
        proof_hash = self._config_hashes.get(key)
        if proof_hash is None:
            config = {**self._options, "@context": context}
            config_text = _default_canonicalize(config)
            _require_one_order(document, (config, config_text))
            proof_hash = self._config_hashes[key] = _sha256(config_text)
        return proof_hash


def _context_key(context: Any) -> Any:
    """A cache key for an ``@context`` value: the usual list of URLs as a tuple (hashed in
    place, once per signed document in a batch), anything else as its JSON text."""
    if isinstance(context, str):
        return context
    if isinstance(context, list) and all(type(item) is str for item in context):
        return tuple(context)
    return json.dumps(context)


def verify_proof(
    document: dict[str, Any],
    public_key: Ed25519PublicKey,
    *,
    canonicalize: Canonicalizer | None = None,
    check_terms: TermCheck | None = None,
) -> bool:
    """Whether the document's ``eddsa-rdfc-2022`` proof is valid for ``public_key``.

    ``proof`` is one proof, or a set of proofs of which one must verify with this key. The
    caller resolves ``verificationMethod`` to the key (and checks it belongs to the issuer).
    A document with undefined terms is not valid, as in a safe-mode verifier.
    """
    value = document.get("proof")
    if isinstance(value, list):
        return any(
            _verify_one(document, proof, public_key, canonicalize, check_terms) for proof in value
        )
    return _verify_one(document, value, public_key, canonicalize, check_terms)


def _verify_one(
    document: dict[str, Any],
    proof: Any,
    public_key: Ed25519PublicKey,
    canonicalize: Canonicalizer | None,
    check_terms: TermCheck | None,
) -> bool:
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
        config_text, document_text = _canonical_forms(unsecured, proof, canon, canonical)
    except CharterError:
        return False
    if _signature_ok(public_key, signature, config_text, document_text):
        return True
    # A signer that sorts by UTF-16 code unit (JavaScript's rdf-canonize) canonicalizes a few
    # documents differently from RDFC-1.0 (see _require_one_order). Both forms are fixed
    # functions of the same RDF dataset, so accepting a proof over either one accepts exactly
    # the same claims; it keeps such credentials from JavaScript issuers verifiable.
    if not (jsonld.orders_may_differ(config_text) or jsonld.orders_may_differ(document_text)):
        return False
    try:
        utf16_config = _utf16_form(_config(unsecured, proof), config_text)
        utf16_document = _utf16_form(unsecured, document_text)
    except CharterError:
        return False
    if (utf16_config, utf16_document) == (config_text, document_text):
        return False
    return _signature_ok(public_key, signature, utf16_config, utf16_document)


def _signature_ok(
    public_key: Ed25519PublicKey, signature: bytes, config_text: str, document_text: str
) -> bool:
    return ed25519.verify(public_key, signature, _sha256(config_text) + _sha256(document_text))


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
