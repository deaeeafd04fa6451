"""Offline license tokens: a compact JWS (RFC 7515) carrying a JWT (RFC 7519), checked with
the RFC 8725 profile against a JWKS (RFC 7517) of Ed25519 keys.

Strict on purpose: ``alg`` must be exactly ``Ed25519`` (RFC 9864; no ``none``, no HMAC, not
even ``EdDSA``), ``typ`` exactly the expected type, no ``crit``, the ``kid`` a key of the set
whose kid is its own RFC 7638 thumbprint, base64url without padding, a JSON object header
without duplicate members, and ``iss``, ``aud``, ``exp`` and ``nbf`` checked (``iat`` too when
present) with a small leeway for clock skew.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter_client.errors import TokenRejected

ALGORITHM = "Ed25519"
"""The one JWS algorithm accepted (RFC 9864's name for EdDSA over Ed25519)."""
LICENSE_JWT_TYP = "license+jwt"
MAX_TOKEN_LENGTH = 64 * 1024
LEEWAY_SECONDS = 60
"""Clock skew allowed on ``exp``, ``nbf`` and ``iat``."""

_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url_decode(text: str) -> bytes:
    """Base64url without padding (RFC 7515 §2); :class:`ValueError` for anything else."""
    if not _B64URL.issuperset(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(x: str) -> str:
    """The RFC 7638 SHA-256 thumbprint of an Ed25519 public JWK with ``x``."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


class KeySet:
    """The Ed25519 signing keys of a JWKS, by ``kid``, ready to verify with.

    A key is kept when it is ``OKP``/``Ed25519`` for signatures (``use`` ``sig`` and ``alg``
    ``Ed25519`` when given), its ``x`` is 32 bytes, and its ``kid`` is its thumbprint; others
    are skipped, never trusted.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = dict(document)
        self.keys: dict[str, Ed25519PublicKey] = {}
        listed = document.get("keys")
        if not isinstance(listed, list):
            raise ValueError("a JWKS needs a 'keys' array")
        for jwk in listed:
            if not isinstance(jwk, dict):
                continue
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
                continue
            if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
                continue
            x, kid = jwk.get("x"), jwk.get("kid")
            if not isinstance(x, str) or not isinstance(kid, str) or kid != thumbprint(x):
                continue
            try:
                raw = b64url_decode(x)
                if len(raw) != 32:
                    continue
                self.keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
            except ValueError:
                continue

    def get(self, kid: str) -> Ed25519PublicKey | None:
        """The key ``kid``, or ``None``."""
        return self.keys.get(kid)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("duplicate member names")
    return found


@dataclass(frozen=True, slots=True)
class Claims:
    """A verified license token's claims, named as the license names them."""

    license_id: str
    partner: str
    product: str
    entitlements: tuple[str, ...]
    seats: int
    regions: tuple[str, ...]
    countries: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    grace_until: datetime | None
    issued_at: datetime | None
    expires_at: datetime
    raw: dict[str, Any] = field(repr=False, compare=False)

    def covers(
        self, *, feature: str | None = None, region: str | None = None, country: str | None = None
    ) -> bool:
        """Whether the license, as the token states it, allows ``feature`` in ``region`` /
        ``country`` (a country is covered when listed, its country when a subdivision is
        asked, or when the region asked is covered), as the server decides."""
        if feature is not None and feature not in self.entitlements:
            return False
        if region is not None and region.lower() not in self.regions:
            return False
        if country is not None:
            code = country.upper()
            listed = code in self.countries or code.split("-", 1)[0] in self.countries
            if not listed and region is None:
                return False
        return True


def _when(value: object, name: str) -> datetime:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TokenRejected(f"its {name} is not a NumericDate")
    return datetime.fromtimestamp(value, UTC)


def _strings(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TokenRejected(f"its {name} is not a list of strings")
    return tuple(value)


def verify_jwt(
    token: object,
    keys: KeySet,
    *,
    typ: str,
    issuer: str,
    audience: str,
    now: float,
    leeway: int = LEEWAY_SECONDS,
) -> dict[str, Any]:
    """The claims of ``token`` once every check holds; :class:`TokenRejected` otherwise."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("it is not a compact JWS")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRejected("it is not a compact JWS (three dot-separated parts)")
    encoded_header, encoded_payload, encoded_signature = parts
    try:
        header = json.loads(b64url_decode(encoded_header), object_pairs_hook=_no_duplicates)
        signature = b64url_decode(encoded_signature)
    except (ValueError, UnicodeError):
        raise TokenRejected("its header or signature is not base64url JSON") from None
    if not isinstance(header, dict):
        raise TokenRejected("its header is not a JSON object")
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise TokenRejected(f"its algorithm {alg!r} is not allowed (only {ALGORITHM})")
    if header.get("typ") != typ:
        raise TokenRejected(f"its type {header.get('typ')!r} is not {typ!r}")
    if "crit" in header or "b64" in header:
        raise TokenRejected("it has header parameters that are not understood (crit, b64)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected("it names no key (kid)")
    key = keys.get(kid)
    if key is None:
        raise TokenRejected(f"its key {kid} is not in the key set")
    signing_input = token[: len(encoded_header) + 1 + len(encoded_payload)].encode("ascii")
    try:
        key.verify(signature, signing_input)
    except InvalidSignature:
        raise TokenRejected(f"its signature does not verify against key {kid}") from None
    try:
        claims = json.loads(b64url_decode(encoded_payload))
    except (ValueError, UnicodeError):
        raise TokenRejected("its payload is not base64url JSON") from None
    if not isinstance(claims, dict):
        raise TokenRejected("its payload is not a JSON object")
    _check_registered(claims, issuer=issuer, audience=audience, now=now, leeway=leeway)
    return claims


def _check_registered(
    claims: dict[str, Any], *, issuer: str, audience: str, now: float, leeway: int
) -> None:
    if claims.get("iss") != issuer:
        raise TokenRejected(f"its issuer {claims.get('iss')!r} is not {issuer!r}")
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise TokenRejected(f"its audience {aud!r} does not name {audience!r}")
    for name in ("exp", "nbf"):
        value = claims.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TokenRejected(f"it lacks a NumericDate {name}")
    if now >= claims["exp"] + leeway:
        raise TokenRejected(f"it expired at {_when(claims['exp'], 'exp').isoformat()}")
    if now < claims["nbf"] - leeway:
        raise TokenRejected(f"it is not valid before {_when(claims['nbf'], 'nbf').isoformat()}")
    iat = claims.get("iat")
    if iat is not None:
        if not isinstance(iat, int | float) or isinstance(iat, bool):
            raise TokenRejected("its iat is not a NumericDate")
        if iat > now + leeway:
            raise TokenRejected("it was issued in the future")


def license_claims(claims: dict[str, Any], product: str) -> Claims:
    """The license a verified token states; :class:`TokenRejected` when it is not one of
    ``product``."""
    license_id = claims.get("license")
    if not isinstance(license_id, str) or claims.get("sub") != license_id:
        raise TokenRejected("it names no license (sub and license)")
    if claims.get("product") != product:
        raise TokenRejected(f"its product {claims.get('product')!r} is not {product!r}")
    partner = claims.get("partner")
    seats = claims.get("seats")
    if not isinstance(partner, str) or not isinstance(seats, int) or isinstance(seats, bool):
        raise TokenRejected("its partner or seats are missing")
    grace = claims.get("grace_until")
    iat = claims.get("iat")
    return Claims(
        license_id=license_id,
        partner=partner,
        product=product,
        entitlements=_strings(claims.get("entitlements"), "entitlements"),
        seats=seats,
        regions=_strings(claims.get("regions"), "regions"),
        countries=_strings(claims.get("countries", []), "countries"),
        valid_from=_when(claims.get("valid_from"), "valid_from"),
        valid_until=_when(claims.get("valid_until"), "valid_until"),
        grace_until=None if grace is None else _when(grace, "grace_until"),
        issued_at=None if iat is None else _when(iat, "iat"),
        expires_at=_when(claims["exp"], "exp"),
        raw=claims,
    )
