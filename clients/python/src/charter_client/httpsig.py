"""Checking a signed answer: HTTP message signatures (RFC 9421) over a response, with Ed25519,
and its body digest (``Content-Digest``, RFC 9530).

Only what a Charter answer needs: a dictionary-valued ``Signature-Input`` and ``Signature``
(RFC 8941 structured fields: inner lists, parameters, strings, integers, tokens, byte
sequences, booleans), the derived component ``"@status"`` and plain header fields as covered
components. The signature base is rebuilt from the parsed parameters in their canonical
serialization (RFC 9421 §2.5), which is what a conforming signer signs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter_client.errors import SignatureRejected

ALGORITHM = "ed25519"
"""The RFC 9421 algorithm name of Ed25519."""

BareItem = str | int | bool | bytes | float
Params = dict[str, BareItem]


@dataclass(frozen=True, slots=True)
class Token:
    """An RFC 8941 token (an unquoted identifier), kept apart from a string."""

    value: str


@dataclass(frozen=True, slots=True)
class Member:
    """A dictionary member: an item or an inner list, with its parameters."""

    value: BareItem | Token | list[tuple[BareItem | Token, Params]]
    params: Params


class _Parser:
    """A strict RFC 8941 parser of the few types answers use (§4.2)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, what: str) -> SignatureRejected:
        return SignatureRejected(f"malformed structured field ({what} at {self.at})")

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def spaces(self) -> None:
        while self.peek() == " ":
            self.at += 1

    def ows(self) -> None:
        while self.peek() in {" ", "\t"} and self.peek():
            self.at += 1

    def dictionary(self) -> dict[str, Member]:
        members: dict[str, Member] = {}
        self.spaces()
        while self.at < len(self.text):
            name = self.key()
            if self.peek() == "=":
                self.at += 1
                members[name] = self.member()
            else:
                members[name] = Member(True, self.params())
            self.ows()
            if self.at >= len(self.text):
                return members
            if self.peek() != ",":
                raise self.fail("expected ','")
            self.at += 1
            self.ows()
            if self.at >= len(self.text):
                raise self.fail("trailing ','")
        return members

    def member(self) -> Member:
        if self.peek() == "(":
            self.at += 1
            items: list[tuple[BareItem | Token, Params]] = []
            while True:
                self.spaces()
                if self.peek() == ")":
                    self.at += 1
                    return Member(items, self.params())
                items.append((self.bare(), self.params()))
                if self.peek() not in {" ", ")"}:
                    raise self.fail("expected ' ' or ')'")
        return Member(self.bare(), self.params())

    def params(self) -> Params:
        found: Params = {}
        while self.peek() == ";":
            self.at += 1
            self.spaces()
            name = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.at += 1
                bare = self.bare()
                if isinstance(bare, Token):
                    bare = bare.value
                value = bare
            found[name] = value
        return found

    def key(self) -> str:
        start = self.at
        char = self.peek()
        if not (char.islower() and char.isascii()) and char != "*":
            raise self.fail("expected a key")
        while self.peek() and (self.peek() in "_-.*" or self.peek().isdigit() or self.lowered()):
            self.at += 1
        return self.text[start : self.at]

    def lowered(self) -> bool:
        char = self.peek()
        return char.isascii() and char.islower()

    def bare(self) -> BareItem | Token:
        char = self.peek()
        if char == '"':
            return self.string()
        if char == ":":
            return self.binary()
        if char == "?":
            self.at += 1
            flag = self.peek()
            if flag not in {"0", "1"}:
                raise self.fail("expected a boolean")
            self.at += 1
            return flag == "1"
        if char == "-" or char.isdigit():
            return self.number()
        if char.isascii() and (char.isalpha() or char == "*"):
            start = self.at
            while self.peek() and (self.peek().isalnum() or self.peek() in "!#$%&'*+-.^_`|~:/"):
                self.at += 1
            return Token(self.text[start : self.at])
        raise self.fail("expected an item")

    def string(self) -> str:
        self.at += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise self.fail("unterminated string")
            self.at += 1
            if char == "\\":
                escaped = self.peek()
                if escaped not in {'"', "\\"}:
                    raise self.fail("bad escape")
                self.at += 1
                out.append(escaped)
            elif char == '"':
                return "".join(out)
            elif not " " <= char <= "~":
                raise self.fail("non-printable character in a string")
            else:
                out.append(char)

    def binary(self) -> bytes:
        end = self.text.find(":", self.at + 1)
        if end < 0:
            raise self.fail("unterminated byte sequence")
        encoded = self.text[self.at + 1 : end]
        self.at = end + 1
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise self.fail("bad base64") from None

    def number(self) -> int:
        start = self.at
        if self.peek() == "-":
            self.at += 1
        while self.peek().isdigit():
            self.at += 1
        digits = self.text[start : self.at]
        if self.peek() == "." or digits in {"", "-"} or len(digits.lstrip("-")) > 15:
            raise self.fail("expected an integer")
        return int(digits)


def parse_dictionary(text: str) -> dict[str, Member]:
    """An RFC 8941 dictionary field value."""
    return _Parser(text).dictionary()


def _serialize_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _serialize_bare(value: BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, str):
        return _serialize_string(value)
    raise SignatureRejected("unsupported parameter value")


def _serialize_params(params: Params) -> str:
    return "".join(
        f";{name}" if value is True else f";{name}={_serialize_bare(value)}"
        for name, value in params.items()
    )


def content_digest_matches(field: str | None, body: bytes) -> bool:
    """Whether ``Content-Digest`` holds the SHA-256 of ``body`` (and any SHA-512 given matches
    too); a field without SHA-256 does not match."""
    if not field:
        return False
    try:
        members = parse_dictionary(field)
    except SignatureRejected:
        return False
    algorithms: dict[str, Callable[[bytes], bytes]] = {
        "sha-256": lambda data: hashlib.sha256(data).digest(),
        "sha-512": lambda data: hashlib.sha512(data).digest(),
    }
    if "sha-256" not in members:
        return False
    for name, digest in algorithms.items():
        member = members.get(name)
        if member is None:
            continue
        if not isinstance(member.value, bytes) or not hmac.compare_digest(
            member.value, digest(body)
        ):
            return False
    return True


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """What a signature that verified said about itself."""

    keyid: str
    created: int
    nonce: str
    tag: str


def verify_response(
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    label: str,
    key_for: Callable[[str], Ed25519PublicKey | None],
    nonce: str,
    tag: str,
    required: tuple[str, ...] = ("@status", "content-digest"),
) -> VerifiedSignature:
    """Check a signed response; :class:`SignatureRejected` saying why when it does not hold.

    The body must match ``Content-Digest`` (SHA-256); the signature ``label`` must cover at
    least the ``required`` components, carry ``created``, ``keyid``, ``alg`` (when present)
    ``ed25519``, the ``nonce`` the request sent and ``tag``, and verify with the key
    ``key_for(keyid)`` gives (``None``: an unknown key).
    """
    if not content_digest_matches(headers.get("content-digest"), body):
        raise SignatureRejected("the body does not match its Content-Digest (sha-256)")
    components, params, signature = _signature_of(headers, label, required)
    signed = _check_params(params, nonce=nonce, tag=tag)
    base = _signature_base(components, params, status=status, headers=headers)
    key = key_for(signed.keyid)
    if key is None:
        raise SignatureRejected(f"its key {signed.keyid} is not in the key set")
    try:
        key.verify(signature, base)
    except InvalidSignature:
        raise SignatureRejected(
            f"its signature does not verify against key {signed.keyid}"
        ) from None
    return signed


def _signature_of(
    headers: Mapping[str, str], label: str, required: tuple[str, ...]
) -> tuple[list[str], Params, bytes]:
    """The covered components, parameters and signature labelled ``label``."""
    inputs = parse_dictionary(headers.get("signature-input") or "")
    signatures = parse_dictionary(headers.get("signature") or "")
    if label not in inputs or label not in signatures:
        raise SignatureRejected(f"the response carries no signature labelled {label!r}")
    given = inputs[label]
    signature = signatures[label].value
    if not isinstance(given.value, list) or not isinstance(signature, bytes):
        raise SignatureRejected("the signature fields are malformed")
    components: list[str] = []
    for item, item_params in given.value:
        if not isinstance(item, str) or item_params:
            raise SignatureRejected("only plain component names are understood")
        components.append(item)
    missing = [name for name in required if name not in components]
    if missing:
        raise SignatureRejected(f"the signature does not cover {', '.join(missing)}")
    if len(set(components)) != len(components):
        raise SignatureRejected("a component is covered twice")
    return components, given.params, signature


def _check_params(params: Params, *, nonce: str, tag: str) -> VerifiedSignature:
    alg = params.get("alg", ALGORITHM)
    if alg != ALGORITHM:
        raise SignatureRejected(f"its algorithm {alg!r} is not {ALGORITHM!r}")
    if params.get("tag") != tag:
        raise SignatureRejected(f"its tag {params.get('tag')!r} is not {tag!r}")
    signed_nonce = params.get("nonce")
    if not isinstance(signed_nonce, str) or not hmac.compare_digest(
        signed_nonce.encode(), nonce.encode()
    ):
        raise SignatureRejected("its nonce is not the one sent (a replayed answer)")
    created = params.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        raise SignatureRejected("it has no creation time")
    keyid = params.get("keyid")
    if not isinstance(keyid, str) or not keyid:
        raise SignatureRejected("it names no key (keyid)")
    return VerifiedSignature(keyid=keyid, created=created, nonce=signed_nonce, tag=tag)


def _signature_base(
    components: list[str], params: Params, *, status: int, headers: Mapping[str, str]
) -> bytes:
    """The signature base (RFC 9421 §2.5), parameters in their canonical serialization."""
    lines: list[str] = []
    for name in components:
        if name == "@status":
            value = str(status)
        elif name.startswith("@"):
            raise SignatureRejected(f"component {name} is not understood")
        else:
            field = headers.get(name)
            if field is None:
                raise SignatureRejected(f"covered field {name} is absent")
            value = field.strip()
        lines.append(f"{_serialize_string(name)}: {value}")
    inner = " ".join(_serialize_string(name) for name in components)
    lines.append(f'"@signature-params": ({inner}){_serialize_params(params)}')
    try:
        return "\n".join(lines).encode("ascii")
    except UnicodeEncodeError:
        raise SignatureRejected("a covered field is not ASCII") from None
