"""The one credential verifier: contexts, types, schema, safe mode, proof, key, dates, status.

Used by ``POST /api/v1/verify``, ``charter verify`` and the public pages. It needs no database:
it takes a document, a :class:`~charter.credentials.resolver.Resolver` for the documents the
credential points to (controller documents, ``did:web`` documents, status lists), the time, and
optionally a lookup of Charter's own records (for suspension and revocation reasons, which the
signed document cannot carry, see ``ob3.build_credential``).

Every check is reported on its own. The verdict is the most serious outcome, in this order:
``invalid`` > ``revoked`` > ``suspended`` > ``expired`` > ``not_yet_valid`` > ``valid``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from cachetools import LRUCache
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter.core.errors import CharterError
from charter.credentials import jsonld, ob3, proofs, statuslist
from charter.credentials.resolver import ResolveError, Resolver, strip_fragment
from charter.crypto import dids, keys

VerdictStatus = Literal["valid", "expired", "not_yet_valid", "revoked", "suspended", "invalid"]
# Most serious first: the verdict is the first of these that any check produced.
SEVERITY: tuple[VerdictStatus, ...] = (
    "invalid",
    "revoked",
    "suspended",
    "expired",
    "not_yet_valid",
    "valid",
)
CHECK_NAMES = (
    "contexts",
    "types",
    "schema",
    "safe_mode",
    "proof",
    "controller",
    "dates",
    "status",
)
OB_CONTEXT_PATTERN = re.compile(
    r"^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$"
)
CREDENTIAL_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
KEY_TYPES = frozenset({"Multikey", "Ed25519VerificationKey2020"})
STATUS_LIST_ENTRY = "BitstringStatusListEntry"
REVOCATION_LIST_1EDTECH = "1EdTechRevocationList"
MAX_DEPTH = 32
"""Deepest nesting of objects and arrays in a credential or a document it points to. Charter's
badges nest 4 deep; JSON-LD processing, canonicalization and schema validation recurse
about ten Python frames per level, so the bound keeps them far from the interpreter's limit."""
MAX_DOCUMENTS = 16
"""Most documents (keys, controllers, status lists) fetched for one verification."""


@dataclass(frozen=True)
class Check:
    """One verification step: its name, whether it passed, and what was found."""

    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, kw_only=True)
class LocalStatus:
    """What Charter's own records say about one of its credentials.

    ``verification_method`` is the key Charter signed that credential with: the records speak
    only for a document signed by that key (so by Charter, its issuer), never for another
    document that merely reuses the credential's ``id``.
    """

    verification_method: str
    revoked: bool = False
    revocation_reason: str | None = None
    suspended: bool = False


LocalStatusLookup = Callable[[str], LocalStatus | None]
"""Credential id → :class:`LocalStatus`, or ``None`` when the credential is not Charter's own."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one credential, with every check and the facts a reader wants."""

    status: VerdictStatus
    reason: str | None
    checks: list[Check]
    credential_id: str | None = None
    issuer: str | None = None
    issuer_name: str | None = None
    subject: str | None = None
    achievement_name: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    @property
    def valid(self) -> bool:
        """Whether the credential is valid right now."""
        return self.status == "valid"

    def check(self, name: str) -> Check:
        """The check called ``name``."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (used by the API and ``charter verify --json``)."""
        return {
            "status": self.status,
            "reason": self.reason,
            "credential_id": self.credential_id,
            "issuer": self.issuer,
            "issuer_name": self.issuer_name,
            "subject": self.subject,
            "achievement_name": self.achievement_name,
            "valid_from": _iso(self.valid_from),
            "valid_until": _iso(self.valid_until),
            "checks": [item.as_dict() for item in self.checks],
        }


def looks_like_credential(document: Any) -> bool:
    """Whether ``document`` is at least shaped like a credential (worth a verdict at all)."""
    return isinstance(document, dict) and bool(
        {"@context", "type", "credentialSubject", "proof"} & set(document)
    )


@dataclass
class _Outcome:
    """A check and the verdict it asks for when it fails (``None``: it passed)."""

    check: Check
    verdict: VerdictStatus | None = None


def deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` levels deep.

    Iterative, so that a hostile document cannot exhaust the stack while being measured.
    """
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


@dataclass
class _Run:
    resolver: Resolver
    now: datetime
    fetched: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: int = 0

    def fetch(self, url: str) -> dict[str, Any]:
        url = strip_fragment(url)
        if url not in self.fetched:
            # Every attempt counts, failed ones too: a credential naming a thousand status
            # lists must not cost a thousand requests.
            if self.attempts >= MAX_DOCUMENTS:
                raise ResolveError(f"{url}: more than {MAX_DOCUMENTS} documents to fetch")
            self.attempts += 1
            document = self.resolver.fetch_json(url)
            if deeper_than(document, MAX_DEPTH):
                raise ResolveError(f"{url}: nested deeper than {MAX_DEPTH} levels")
            self.fetched[url] = document
        return self.fetched[url]


def verify_credential(
    document: dict[str, Any],
    *,
    resolver: Resolver,
    now: datetime,
    local_status: LocalStatusLookup | None = None,
) -> Verdict:
    """Verify an OB 3.0 credential; every check is reported, the verdict is the worst outcome."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if deeper_than(document, MAX_DEPTH):
        # Before any check: JSON-LD, canonicalization and the schema all recurse.
        too_deep = f"the credential is nested deeper than {MAX_DEPTH} levels; not checked"
        return Verdict(
            status="invalid",
            reason=too_deep,
            checks=[Check(name, False, too_deep) for name in CHECK_NAMES],
            credential_id=_str_or_none(document.get("id")),
        )
    run = _Run(resolver=resolver, now=now)
    issuer = _issuer_id(document)
    outcomes: list[_Outcome] = []

    outcomes.append(_check_contexts(document))
    outcomes.append(_check_types(document))
    outcomes.append(_check_schema(document))
    contexts_usable = _contexts_usable(document)
    if contexts_usable:
        outcomes.append(_check_safe_mode(document))
        proof, key = _check_proof(run, document, terms_checked=True)
    else:
        skipped = "not checked: the @context cannot be processed offline"
        outcomes.append(_failed("safe_mode", skipped))
        proof, key = _failed("proof", skipped), None
    outcomes.append(proof)
    controller_outcome = _check_controller(issuer, key.controller if key else None)
    outcomes.append(controller_outcome)
    valid_from, valid_until, dates = _check_dates(document, now)
    outcomes.append(dates)
    if key is not None and proof.verdict is None and controller_outcome.verdict is None:
        outcomes.append(_check_status(run, document, issuer, key.method, local_status))
    else:
        # The status URL is only trusted once the issuer's signature covers it: a forged
        # credential must not make the verifier fetch whatever it names.
        outcomes.append(_failed("status", "not checked: the proof and its key must verify first"))

    status: VerdictStatus = "valid"
    reason: str | None = None
    for candidate in SEVERITY[:-1]:
        failing = [o for o in outcomes if o.verdict == candidate]
        if failing:
            status, reason = candidate, failing[0].check.detail
            break
    subject = _first_subject(document)
    achievement = subject.get("achievement") if subject else None
    issuer_doc = document.get("issuer")
    return Verdict(
        status=status,
        reason=reason,
        checks=[o.check for o in outcomes],
        credential_id=_str_or_none(document.get("id")),
        issuer=issuer,
        issuer_name=_str_or_none(issuer_doc.get("name")) if isinstance(issuer_doc, dict) else None,
        subject=_str_or_none(subject.get("id")) if subject else None,
        achievement_name=(
            _str_or_none(achievement.get("name")) if isinstance(achievement, dict) else None
        ),
        valid_from=valid_from,
        valid_until=valid_until,
    )


def _passed(name: str, detail: str) -> _Outcome:
    return _Outcome(Check(name, True, detail))


def _failed(name: str, detail: str, verdict: VerdictStatus = "invalid") -> _Outcome:
    return _Outcome(Check(name, False, detail), verdict)


def _contexts_of(document: dict[str, Any]) -> list[Any]:
    value = document.get("@context")
    if isinstance(value, str):
        return [value]
    return value if isinstance(value, list) else []


def _contexts_usable(document: dict[str, Any]) -> bool:
    contexts = _contexts_of(document)
    allowed = jsonld.context_index()
    return bool(contexts) and all(isinstance(c, str) and c in allowed for c in contexts)


def _check_contexts(document: dict[str, Any]) -> _Outcome:
    contexts = _contexts_of(document)
    if not contexts:
        return _failed("contexts", "@context is missing")
    if contexts[0] != ob3.VC_V2_CONTEXT:
        return _failed("contexts", f"@context[0] must be {ob3.VC_V2_CONTEXT}")
    if len(contexts) < 2 or not (
        isinstance(contexts[1], str) and OB_CONTEXT_PATTERN.match(contexts[1])
    ):
        return _failed("contexts", "@context[1] must be an Open Badges 3.0 context")
    allowed = jsonld.context_index()
    for index, context in enumerate(contexts):
        if not isinstance(context, str):
            return _failed("contexts", f"@context[{index}] is inline; only known URLs are accepted")
        if context not in allowed:
            return _failed(
                "contexts",
                f"@context[{index}] {context} is not known to Charter (contexts are never fetched)",
            )
    return _passed("contexts", "VC 2.0 and Open Badges 3.0 contexts, all known")


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _check_types(document: dict[str, Any]) -> _Outcome:
    types = _types(document.get("type"))
    if "VerifiableCredential" not in types:
        return _failed("types", "type must include VerifiableCredential")
    if not CREDENTIAL_TYPES & set(types):
        return _failed("types", "type must include OpenBadgeCredential or AchievementCredential")
    return _passed("types", ", ".join(types))


def _check_schema(document: dict[str, Any]) -> _Outcome:
    try:
        errors = ob3.validate_received(document)
    except (ValueError, TypeError, RecursionError) as error:
        return _failed("schema", f"cannot be checked against the OB 3.0 schema: {error}")
    subject = _first_subject(document)
    if subject is not None and "id" not in subject and "identifier" not in subject:
        errors.append("credentialSubject: needs an id or an identifier")
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return _failed("schema", "; ".join(errors[:3]) + more)
    return _passed("schema", "matches the OB 3.0 AchievementCredential schema")


def _check_safe_mode(document: dict[str, Any]) -> _Outcome:
    try:
        # Once per shape (fastcanon), as issuance checks it; pyld for shapes it cannot take.
        dropped = proofs.dropped_terms(document)
    except CharterError as error:
        return _failed("safe_mode", f"not processable as JSON-LD: {error.detail}")
    if dropped:
        return _failed(
            "safe_mode",
            "terms not defined by the @context (dropped in JSON-LD): " + ", ".join(dropped),
        )
    return _passed("safe_mode", "every term is defined by the @context")


@dataclass(frozen=True)
class _Key:
    """The key of a valid proof: its verification method and the controller vouching for it."""

    method: str
    controller: str


def _check_proof(
    run: _Run, document: dict[str, Any], *, terms_checked: bool
) -> tuple[_Outcome, _Key | None]:
    """The first valid proof's outcome and its key (``None`` if no proof is valid)."""
    value = document.get("proof")
    if value is None:
        return _failed("proof", "the credential has no proof"), None
    candidates = value if isinstance(value, list) else [value]
    problems: list[str] = []
    for proof in candidates:
        problem = _proof_shape_problem(proof)
        if problem:
            problems.append(problem)
            continue
        method = proof["verificationMethod"]
        try:
            public_key, controller = resolve_assertion_key(method, run.fetch)
        except _KeyProblem as error:
            problems.append(str(error))
            continue
        signed = {**document, "proof": proof}
        if terms_checked:
            holds = proofs.verify_proof(signed, public_key)
        else:
            # A status list's terms are checked with its proof, on the same path as its hashes.
            holds = _list_proof_holds(signed, public_key)
        if holds:
            detail = f"eddsa-rdfc-2022 signature by {method} is valid"
            return _passed("proof", detail), _Key(method, controller)
        problems.append(
            "the signature does not match: the document was changed after signing, "
            "or it was signed with another key"
        )
    return _failed("proof", "; ".join(problems) or "no usable proof"), None


def _no_terms(document: dict[str, Any]) -> list[str]:
    return []


KEPT_LIST_BITS = 256 * 1024
"""Largest status list (encoded, and decoded) whose bits are kept. Charter's own lists are
16 KiB of bits; a hostile list may decode to 16 MiB."""
# Each access under the lock: request threads share them.
_LIST_PROOFS: LRUCache[tuple[bytes, bytes], bool] = LRUCache(maxsize=1024)
_LIST_BITS: LRUCache[str, bytes] = LRUCache(maxsize=4 * 1024 * 1024, getsizeof=len)
_kept_lock = threading.Lock()


def _list_proof_holds(signed: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """Whether a status list's proof holds, kept by the list's exact JSON and the key.

    Every credential an issuer signs points to one of a few status lists, and a verifier
    checks the list's proof with each of them: about a third of a verification, for the same
    answer until the list changes. The answer is a function of the document and the key
    alone, so it is kept under both (the document whole, by its SHA-256: a list whose bits or
    proof changed is another key).
    """
    try:
        text = json.dumps(signed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):  # not plain JSON (a resolver never gives that): not kept
        return proofs.verify_proof(signed, public_key, check_terms=_no_terms)
    key = (hashlib.sha256(text.encode()).digest(), public_key.public_bytes_raw())
    with _kept_lock:
        holds = _LIST_PROOFS.get(key)
    if holds is None:
        holds = proofs.verify_proof(signed, public_key, check_terms=_no_terms)
        with _kept_lock:
            _LIST_PROOFS[key] = holds
    return holds


def _proof_shape_problem(proof: Any) -> str | None:
    if not isinstance(proof, dict):
        return "the proof is not an object"
    if proof.get("type") != proofs.PROOF_TYPE:
        return f"proof type {proof.get('type')!r} is not supported (DataIntegrityProof only)"
    if proof.get("cryptosuite") != proofs.CRYPTOSUITE:
        return f"cryptosuite {proof.get('cryptosuite')!r} is not supported (eddsa-rdfc-2022 only)"
    if proof.get("proofPurpose") != proofs.PROOF_PURPOSE:
        return f"proofPurpose must be assertionMethod, not {proof.get('proofPurpose')!r}"
    if not isinstance(proof.get("verificationMethod"), str):
        return "the proof has no verificationMethod"
    if not isinstance(proof.get("proofValue"), str):
        return "the proof has no proofValue"
    return None


class _KeyProblem(Exception):
    """The verification method cannot be resolved to a key the controller vouches for."""


def resolve_assertion_key(
    method: str, fetch: Callable[[str], dict[str, Any]]
) -> tuple[Ed25519PublicKey, str]:
    """The public key of ``method`` and its controller, checked to be an assertion method.

    ``did:key`` resolves offline; ``did:web`` and https methods are looked up with ``fetch``
    (a resolver's ``fetch_json``). Raises an exception whose message says what is wrong.
    """
    try:
        if method.startswith(dids.DID_KEY_PREFIX):
            return _did_key_method(method)
        if method.startswith(dids.DID_WEB_PREFIX):
            did = strip_fragment(method)
            document = fetch(dids.did_web_document_url(did))
            return _method_in_controller_document(method, did, document)
        if method.startswith(("https://", "http://")):
            return _url_method(method, fetch)
    except ResolveError as error:
        raise _KeyProblem(f"the key {method} cannot be resolved: {error}") from error
    except CharterError as error:
        raise _KeyProblem(f"the key {method} is not usable: {error.detail}") from error
    raise _KeyProblem(f"verification method {method} uses a method Charter cannot resolve")


@lru_cache(maxsize=1024)
def _did_key_method(method: str) -> tuple[Ed25519PublicKey, str]:
    # A did:key is its own key: decoding it (base58, twice) cost a credential and its status
    # list about 60 us. lru_cache is thread-safe; a did:key is ~110 characters or refused.
    return dids.resolve_did_key(method), strip_fragment(method)


def _url_method(
    method: str, fetch: Callable[[str], dict[str, Any]]
) -> tuple[Ed25519PublicKey, str]:
    document = fetch(strip_fragment(method))
    if document.get("id") == method and "controller" in document:
        # A key document of its own: its controller document must list it for assertion.
        controller = document["controller"]
        if not isinstance(controller, str):
            raise _KeyProblem(f"the key document {method} has no controller")
        if controller.startswith(dids.DID_WEB_PREFIX):
            controller_doc = fetch(dids.did_web_document_url(controller))
        elif controller.startswith(("https://", "http://")):
            controller_doc = fetch(controller)
        else:
            raise _KeyProblem(f"the controller {controller} of {method} cannot be resolved")
        _require_listed(controller_doc, controller, method)
        return _public_key(document, method), controller
    controller = strip_fragment(method)
    return _method_in_controller_document(method, controller, document)


def _method_in_controller_document(
    method: str, controller: str, document: dict[str, Any]
) -> tuple[Ed25519PublicKey, str]:
    found = _find_method(document, method)
    if found is None:
        raise _KeyProblem(f"the controller document of {controller} does not contain {method}")
    declared = found.get("controller", controller)
    if declared != controller:
        raise _KeyProblem(f"{method} is controlled by {declared}, not by {controller}")
    _require_listed(document, controller, method)
    return _public_key(found, method), controller


def _require_listed(document: dict[str, Any], controller: str, method: str) -> None:
    if document.get("id") != controller:
        raise _KeyProblem(
            f"the controller document is for {document.get('id')!r}, not {controller}"
        )
    listed = document.get("assertionMethod")
    entries = listed if isinstance(listed, list) else [listed]
    for entry in entries:
        ref = entry.get("id") if isinstance(entry, dict) else entry
        if isinstance(ref, str) and _absolute(ref, controller) == method:
            return
    raise _KeyProblem(f"{controller} does not list {method} under assertionMethod")


def _find_method(document: dict[str, Any], method: str) -> dict[str, Any] | None:
    base = document.get("id") if isinstance(document.get("id"), str) else ""
    for relation in ("verificationMethod", "assertionMethod"):
        entries = document.get(relation)
        for entry in entries if isinstance(entries, list) else [entries]:
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("id"), str)
                and _absolute(entry["id"], str(base)) == method
            ):
                return entry
    return None


def _absolute(ref: str, base: str) -> str:
    return base + ref if ref.startswith("#") else ref


def _public_key(method_doc: dict[str, Any], method: str) -> Ed25519PublicKey:
    kind = method_doc.get("type")
    if kind in KEY_TYPES and isinstance(method_doc.get("publicKeyMultibase"), str):
        return keys.public_key_from_multibase(method_doc["publicKeyMultibase"])
    jwk = method_doc.get("publicKeyJwk")
    if kind == "JsonWebKey" and isinstance(jwk, dict):
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
            raise _KeyProblem(f"{method} is not an Ed25519 public JWK")
        try:
            raw = base64.urlsafe_b64decode(str(jwk.get("x", "")) + "==")
            return Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, binascii.Error) as error:
            raise _KeyProblem(f"{method} has a malformed publicKeyJwk") from error
    raise _KeyProblem(f"{method} is not an Ed25519 Multikey ({kind!r} is not supported)")


def _issuer_id(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _check_controller(issuer: str | None, controller: str | None) -> _Outcome:
    if issuer is None:
        return _failed("controller", "the credential names no issuer id")
    if controller is None:
        return _failed("controller", "not checked: no valid proof names a key")
    if controller != issuer:
        return _failed(
            "controller", f"the signing key belongs to {controller}, not to the issuer {issuer}"
        )
    return _passed("controller", f"the signing key belongs to the issuer {issuer}")


def parse_datetime(value: Any) -> datetime | None:
    """An aware datetime from an XSD dateTimeStamp string, or ``None`` if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _check_dates(
    document: dict[str, Any], now: datetime
) -> tuple[datetime | None, datetime | None, _Outcome]:
    valid_from = parse_datetime(document.get("validFrom"))
    valid_until = parse_datetime(document.get("validUntil"))
    if valid_from is None:
        return None, valid_until, _failed("dates", "validFrom is missing or not a dateTimeStamp")
    if "validUntil" in document and valid_until is None:
        return valid_from, None, _failed("dates", "validUntil is not a dateTimeStamp")
    if valid_until is not None and valid_until < valid_from:
        return valid_from, valid_until, _failed("dates", "validUntil is before validFrom")
    if now < valid_from:
        detail = f"not valid until {_iso(valid_from)}"
        return valid_from, valid_until, _failed("dates", detail, "not_yet_valid")
    if valid_until is not None and now > valid_until:
        detail = f"expired on {_iso(valid_until)}"
        return valid_from, valid_until, _failed("dates", detail, "expired")
    until = f" until {_iso(valid_until)}" if valid_until else ", with no end date"
    return valid_from, valid_until, _passed("dates", f"valid from {_iso(valid_from)}{until}")


class _StatusProblem(Exception):
    """The status could not be established (list missing, forged, malformed...)."""


def _check_status(
    run: _Run,
    document: dict[str, Any],
    issuer: str | None,
    method: str,
    local_status: LocalStatusLookup | None,
) -> _Outcome:
    value = document.get("credentialStatus")
    entries = [] if value is None else value if isinstance(value, list) else [value]
    revoked: list[str] = []
    suspended: list[str] = []
    problems: list[str] = []
    for entry in entries:
        try:
            purpose, is_set, where = _entry_status(run, entry, document, issuer)
        except _StatusProblem as error:
            problems.append(str(error))
            continue
        if is_set and purpose == "suspension":
            suspended.append(where)
        elif is_set:
            revoked.append(where)

    own = _own_status(document, method, local_status)
    if own is not None:
        if own.suspended:
            suspended.append("by the issuer")
            # Charter publishes a suspension on the revocation list too (a badge carries one
            # status entry): its records say the bit means suspended.
            revoked = revoked if own.revoked else []
        if own.revoked:
            # Either source is enough: the signed list is public, the records carry the reason.
            revoked.insert(0, own.revocation_reason or "by the issuer")
        # For Charter's own credentials the records are the source the lists are made from,
        # so an unreachable list does not leave the status unknown.
        problems = []

    if problems:
        return _failed("status", "status cannot be checked: " + "; ".join(problems))
    if revoked:
        return _failed("status", f"revoked: {revoked[0]}", "revoked")
    if suspended:
        return _failed("status", f"suspended: {suspended[0]}", "suspended")
    if not entries and own is None:
        return _passed("status", "no credentialStatus: the issuer cannot revoke this credential")
    return _passed("status", "not revoked" + (" or suspended" if own is not None else ""))


def _own_status(
    document: dict[str, Any], method: str, local_status: LocalStatusLookup | None
) -> LocalStatus | None:
    """Charter's records on this document, if it is the one Charter signed under its id."""
    credential_id = document.get("id")
    if local_status is None or not isinstance(credential_id, str):
        return None
    own = local_status(credential_id)
    if own is None or own.verification_method != method:
        # Anyone can put one of Charter's credential URLs in the id of a document they sign:
        # the records speak only for the document Charter signed, with Charter's key.
        return None
    return own


def _entry_status(
    run: _Run, entry: Any, document: dict[str, Any], issuer: str | None
) -> tuple[str, bool, str]:
    """``(purpose, bit set?, where)`` for one credentialStatus entry."""
    if not isinstance(entry, dict):
        raise _StatusProblem("credentialStatus is not an object")
    kind = entry.get("type")
    if kind == REVOCATION_LIST_1EDTECH:
        return _revocation_list_status(run, entry, document)
    if kind != STATUS_LIST_ENTRY:
        raise _StatusProblem(f"credentialStatus type {kind!r} is not supported")
    purpose = entry.get("statusPurpose")
    list_url = entry.get("statusListCredential")
    raw_index = entry.get("statusListIndex")
    if not isinstance(purpose, str) or not isinstance(list_url, str):
        raise _StatusProblem("statusPurpose and statusListCredential are required")
    if isinstance(raw_index, str) and raw_index.isdigit():
        index = int(raw_index)
    elif isinstance(raw_index, int) and not isinstance(raw_index, bool) and raw_index >= 0:
        index = raw_index
    else:
        raise _StatusProblem("statusListIndex must be a non-negative base-10 integer string")
    size = entry.get("statusSize", 1)
    if size not in {1, "1"}:
        raise _StatusProblem(f"statusSize {size!r} is not supported (only 1)")
    bits = _status_list_bits(run, list_url, purpose, issuer)
    try:
        is_set = bits.get(index)
    except statuslist.StatusListError as error:
        raise _StatusProblem(str(error)) from error
    return purpose, is_set, f"{purpose} list {list_url}, index {index}"


def _status_list_bits(
    run: _Run, list_url: str, purpose: str, issuer: str | None
) -> statuslist.StatusBits:
    try:
        status_vc = run.fetch(list_url)
    except ResolveError as error:
        raise _StatusProblem(f"the status list cannot be retrieved: {error}") from error
    if "BitstringStatusListCredential" not in _types(status_vc.get("type")):
        raise _StatusProblem(f"{list_url} is not a BitstringStatusListCredential")
    if not _contexts_usable(status_vc):
        raise _StatusProblem(f"the status list {list_url} uses a @context Charter does not know")
    outcome, key = _check_proof(run, status_vc, terms_checked=False)
    if outcome.verdict is not None or key is None:
        raise _StatusProblem(f"the status list's proof is not valid: {outcome.check.detail}")
    list_issuer = _issuer_id(status_vc)
    if key.controller != list_issuer:
        raise _StatusProblem("the status list is signed by a key its issuer does not control")
    if list_issuer != issuer:
        raise _StatusProblem(f"the status list is issued by {list_issuer}, not by {issuer}")
    valid_from = parse_datetime(status_vc.get("validFrom"))
    valid_until = parse_datetime(status_vc.get("validUntil"))
    if valid_from is not None and run.now < valid_from:
        raise _StatusProblem("the status list is not valid yet")
    if valid_until is not None and run.now > valid_until:
        raise _StatusProblem("the status list has expired")
    subject = status_vc.get("credentialSubject")
    if not isinstance(subject, dict) or "BitstringStatusList" not in _types(subject.get("type")):
        raise _StatusProblem("the status list's credentialSubject is not a BitstringStatusList")
    if purpose not in _types(subject.get("statusPurpose")):
        raise _StatusProblem(f"the status list is not a {purpose} list")
    try:
        return statuslist.StatusBits.from_bytes(_list_bytes(subject.get("encodedList", "")))
    except statuslist.StatusListError as error:
        raise _StatusProblem(f"the status list is malformed: {error}") from error


def _list_bytes(encoded: Any) -> bytes:
    """A status list's decoded bits; the few lists in use are each decoded once."""
    if not isinstance(encoded, str) or len(encoded) > KEPT_LIST_BITS:
        return statuslist.decode(encoded)
    with _kept_lock:
        data = _LIST_BITS.get(encoded)
    if data is None:
        data = statuslist.decode(encoded)
        if len(data) <= KEPT_LIST_BITS:
            with _kept_lock:
                _LIST_BITS[encoded] = data
    return data


def _revocation_list_status(
    run: _Run, entry: dict[str, Any], document: dict[str, Any]
) -> tuple[str, bool, str]:
    list_url = entry.get("id")
    if not isinstance(list_url, str):
        raise _StatusProblem("1EdTechRevocationList entry has no id")
    try:
        listing = run.fetch(list_url)
    except ResolveError as error:
        raise _StatusProblem(f"the revocation list cannot be retrieved: {error}") from error
    revoked = listing.get("revokedCredential")
    for item in revoked if isinstance(revoked, list) else []:
        if isinstance(item, dict) and item.get("id") == document.get("id"):
            reason = item.get("revocationReason")
            return "revocation", True, str(reason) if reason else f"listed in {list_url}"
    return "revocation", False, list_url


def _first_subject(document: dict[str, Any]) -> dict[str, Any] | None:
    subject = document.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    return subject if isinstance(subject, dict) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None
