"""HTTP message signatures (RFC 9421) over responses, with Ed25519, and their body digest
(``Content-Digest``, RFC 9530).

Charter signs a few components of its own responses (``"@status"``, ``"content-digest"``),
so the signature base is built here from the derived and field values directly: a handful of
lines, checked against the RFC's Ed25519 test vector (Appendix B.2.6) and verified by an
independent implementation in the tests. Parameters are serialized as RFC 8941 structured
fields: integers and strings (quoted, ``\\`` and ``"`` escaped).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

ALGORITHM = "ed25519"
"""The RFC 9421 algorithm name (HTTP Signature Algorithms registry)."""


class MessageSigner(Protocol):
    """An Ed25519 private key, or :class:`charter.crypto.ed25519.Signer` (libsodium's, faster)."""

    def sign(self, data: bytes, /) -> bytes:
        """The 64-byte signature of ``data``."""
        ...


def content_digest(body: bytes) -> str:
    """The ``Content-Digest`` field value of ``body``: its SHA-256 (RFC 9530)."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    return f"sha-256=:{digest}:"


_PRINTABLE = re.compile(r"[ -~]*")


@functools.lru_cache(maxsize=1024)  # the component ids, key id, alg and tag repeat
def _sf_string(value: str) -> str:
    if not _PRINTABLE.fullmatch(value):
        raise ValueError(f"{value!r} is not printable ASCII: not a structured-field string")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def signature_params(components: Sequence[str], params: Sequence[tuple[str, str | int]]) -> str:
    """The ``@signature-params`` value: the covered component ids as an inner list, then the
    parameters in the order given (RFC 9421 §2.3)."""
    inner = " ".join(_sf_string(component) for component in components)
    rendered = "".join(
        f";{name}={value}" if isinstance(value, int) else f";{name}={_sf_string(value)}"
        for name, value in params
    )
    return f"({inner}){rendered}"


def signature_base(components: Sequence[tuple[str, str]], params: str) -> bytes:
    """The signature base (RFC 9421 §2.5): one line per covered component (its id and value),
    then the ``@signature-params`` line; lines joined by LF, none after the last."""
    lines = [f"{_sf_string(name)}: {value}" for name, value in components]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode("ascii")


@dataclass(frozen=True, slots=True)
class SignedFields:
    """The header fields that carry a signature: ``Signature-Input`` and ``Signature``."""

    signature_input: str
    signature: str


def sign(
    private_key: MessageSigner,
    *,
    label: str,
    components: Sequence[tuple[str, str]],
    params: Sequence[tuple[str, str | int]],
) -> SignedFields:
    """Sign ``components`` (id, value pairs, in order) with ``params`` under ``label``."""
    rendered = signature_params([name for name, _ in components], params)
    signature = private_key.sign(signature_base(components, rendered))
    encoded = base64.b64encode(signature).decode("ascii")
    return SignedFields(f"{label}={rendered}", f"{label}=:{encoded}:")


def sign_response(
    private_key: MessageSigner,
    *,
    status: int,
    body: bytes,
    keyid: str,
    created: int,
    nonce: str,
    label: str,
    tag: str,
) -> dict[str, str]:
    """The header fields that sign a response: ``Content-Digest`` of ``body``, and a
    signature covering ``"@status"`` and ``"content-digest"`` with ``created``, ``keyid``,
    ``alg``, the client's ``nonce`` and ``tag`` as parameters."""
    digest = content_digest(body)
    fields = sign(
        private_key,
        label=label,
        components=[("@status", str(status)), ("content-digest", digest)],
        params=[
            ("created", created),
            ("keyid", keyid),
            ("alg", ALGORITHM),
            ("nonce", nonce),
            ("tag", tag),
        ],
    )
    return {
        "Content-Digest": digest,
        "Signature-Input": fields.signature_input,
        "Signature": fields.signature,
    }
