"""``did:key`` and ``did:web`` identifiers, their syntax, and DID documents for Ed25519 keys.

``did:key`` resolves offline (the key is the identifier). ``did:web`` documents list every key,
retired ones too, under ``assertionMethod`` so that credentials signed before a rotation keep
verifying; revocation of a credential is the status list's job, not the DID document's.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter.core.errors import Invalid
from charter.crypto import keys

DID_V1_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1_CONTEXT = "https://w3id.org/security/multikey/v1"
DID_KEY_PREFIX = "did:key:"
DID_WEB_PREFIX = "did:web:"

# DID syntax (W3C DID Core §3.1) for the two methods a holder may give. did:key's
# method-specific id is a multibase base58btc key ('z' + base58btc); did:web's is a host name
# (a port percent-encoded as %3A) followed by optional ':'-separated path segments.
_DID_KEY = re.compile(r"did:key:z[1-9A-HJ-NP-Za-km-z]{32,128}")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PATH_SEGMENT = r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+"
_DID_WEB = re.compile(
    rf"did:web:{_HOST_LABEL}(?:\.{_HOST_LABEL})*(?:%3[Aa][0-9]{{1,5}})?(?::{_PATH_SEGMENT})*"
)
HOLDER_DID_MAX_LENGTH = 500


def holder_did_problem(value: str) -> str | None:
    """Why ``value`` is not a usable holder DID (``did:key`` or ``did:web``), or ``None``."""
    if len(value) > HOLDER_DID_MAX_LENGTH:
        return f"must be at most {HOLDER_DID_MAX_LENGTH} characters"
    if value.startswith(DID_KEY_PREFIX):
        if _DID_KEY.fullmatch(value) is None:
            return "is not a did:key (did:key:z followed by a base58btc multibase key)"
        return None
    if value.startswith(DID_WEB_PREFIX):
        if _DID_WEB.fullmatch(value) is None:
            return "is not a did:web (did:web:<host>[%3A<port>][:<path>...])"
        return None
    return "must be a did:key or did:web DID"


def did_key_from_public(public_key: Ed25519PublicKey) -> str:
    """The ``did:key:z6Mk…`` of an Ed25519 public key."""
    return DID_KEY_PREFIX + keys.public_key_multibase(public_key)


def did_key_verification_method(did: str) -> str:
    """The verification method id of a ``did:key`` (``did:key:z6Mk…#z6Mk…``)."""
    multikey = _did_key_multikey(did)
    return f"{DID_KEY_PREFIX}{multikey}#{multikey}"


def resolve_did_key(vm_or_did: str) -> Ed25519PublicKey:
    """The public key named by a ``did:key`` or its verification method id, offline."""
    did, _, fragment = vm_or_did.partition("#")
    multikey = _did_key_multikey(did)
    if fragment and fragment != multikey:
        raise Invalid.field(
            "verificationMethod", "a did:key fragment must repeat the key (did:key:z…#z…)"
        )
    return keys.public_key_from_multibase(multikey, field="verificationMethod")


def did_web_from_url(url: str) -> str:
    """The ``did:web`` of a base URL (``https://example.com:8443/org`` → ``…com%3A8443:org``)."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise Invalid.field("url", "must be an absolute http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise Invalid.field("url", "must not carry credentials, a query or a fragment")
    host = parts.hostname.lower()
    if parts.port is not None:
        host = f"{host}%3A{parts.port}"
    segments = [quote(unquote(s), safe="") for s in parts.path.split("/") if s]
    if segments[-2:] == [".well-known", "did.json"] or segments[-1:] == ["did.json"]:
        raise Invalid.field("url", "give the base URL, not the did.json document URL")
    return ":".join([DID_WEB_PREFIX + host, *segments])


def did_web_document_url(did: str) -> str:
    """Where a ``did:web`` document is served (``/.well-known/did.json`` without a path)."""
    if not did.startswith(DID_WEB_PREFIX) or len(did) == len(DID_WEB_PREFIX):
        raise Invalid.field("did", "is not a did:web")
    host, *segments = did[len(DID_WEB_PREFIX) :].split(":")
    host = unquote(host)
    path = "/".join(segments) + "/did.json" if segments else ".well-known/did.json"
    return f"https://{host}/{path}"


def did_web_document(did: str, keys_: list[tuple[str, Ed25519PublicKey]]) -> dict[str, Any]:
    """The DID document of a ``did:web`` listing every ``(key_id, public_key)`` for assertion."""
    if not did.startswith(DID_WEB_PREFIX):
        raise Invalid.field("did", "is not a did:web")
    methods = [
        {
            "id": f"{did}#{key_id}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": keys.public_key_multibase(public_key),
        }
        for key_id, public_key in keys_
    ]
    return {
        "@context": [DID_V1_CONTEXT, MULTIKEY_V1_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def _did_key_multikey(did: str) -> str:
    if not did.startswith(DID_KEY_PREFIX):
        raise Invalid.field("did", "is not a did:key")
    multikey = did[len(DID_KEY_PREFIX) :].partition("#")[0]
    # Decoding here refuses non-Ed25519 did:keys up front.
    keys.public_key_from_multibase(multikey, field="did")
    return multikey
