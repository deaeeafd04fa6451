"""A hand-built license server: generated Ed25519 keys, tokens and signed answers made here from
the RFCs, served through an ``httpx`` transport, with a clock the tests move."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from charter_client.jose import b64url_encode, thumbprint

BASE_URL = "https://licenses.example.com"
PRODUCT = "PLAT-1"
KEY = "CHL-0ABCD-EFGH1-JKMNP-QRSTV-W"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock standing still until moved."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@dataclass
class SigningKey:
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def x(self) -> str:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return b64url_encode(raw)

    @property
    def kid(self) -> str:
        return thumbprint(self.x)

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.x,
            "kid": self.kid,
            "use": "sig",
            "alg": "Ed25519",
        }


def make_token(
    key: SigningKey,
    claims: dict[str, Any],
    *,
    header: dict[str, Any] | None = None,
    signer: SigningKey | None = None,
) -> str:
    """A compact JWS of ``claims`` under ``header`` (a license+jwt by default)."""
    head = (
        header if header is not None else {"alg": "Ed25519", "typ": "license+jwt", "kid": key.kid}
    )
    encoded = (
        b64url_encode(json.dumps(head).encode()) + "." + b64url_encode(json.dumps(claims).encode())
    )
    signature = (signer or key).private.sign(encoded.encode())
    return encoded + "." + b64url_encode(signature)


def license_claims(now: datetime, **overrides: Any) -> dict[str, Any]:
    """The claims Charter puts in a license token, valid for seven days from ``now``."""
    at = int(now.timestamp())
    claims: dict[str, Any] = {
        "sub": "lic_1",
        "license": "lic_1",
        "partner": "prt_1",
        "product": PRODUCT,
        "product_id": "prd_1",
        "entitlements": ["analytics", "api_access"],
        "seats": 10,
        "regions": ["emea"],
        "countries": ["DE", "FR"],
        "valid_from": at,
        "valid_until": at + 365 * 86400,
        "grace_until": None,
        "iss": BASE_URL,
        "aud": PRODUCT,
        "iat": at,
        "nbf": at,
        "exp": at + 7 * 86400,
        "jti": "j1",
    }
    claims.update(overrides)
    return claims


def sign_answer(
    key: SigningKey,
    *,
    body: bytes,
    nonce: str,
    created: int,
    status: int = 200,
    digest_of: bytes | None = None,
    tag: str = "charter-license-validation",
) -> dict[str, str]:
    """The headers Charter puts on a validation answer (RFC 9421 over @status and
    content-digest, RFC 9530 digest), built from the RFCs."""
    digest = (
        "sha-256=:"
        + base64.b64encode(
            hashlib.sha256(body if digest_of is None else digest_of).digest()
        ).decode()
        + ":"
    )
    params = (
        f'("@status" "content-digest");created={created};keyid="{key.kid}";alg="ed25519"'
        f';nonce="{nonce}";tag="{tag}"'
    )
    base = f'"@status": {status}\n"content-digest": {digest}\n"@signature-params": {params}'
    signature = base64.b64encode(key.private.sign(base.encode())).decode()
    return {
        "Content-Digest": digest,
        "Signature-Input": f"charter={params}",
        "Signature": f"charter=:{signature}:",
    }


@dataclass
class Server:
    """What the hand-built server does; tests change it between requests."""

    clock: Clock
    keys: list[SigningKey]
    signer: SigningKey
    code: str = "VALID"
    up: bool = True
    tamper: (
        Callable[[dict[str, Any], bytes, dict[str, str]], tuple[int, bytes, dict[str, str]]] | None
    ) = None
    jwks_requests: int = 0
    validations: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/.well-known/jwks.json":
            self.jwks_requests += 1
            return httpx.Response(200, json={"keys": [key.jwk() for key in self.keys]})
        if request.url.path == "/api/v1/licenses/validate":
            asked = json.loads(request.content)
            self.validations.append(asked)
            valid = self.code in {"VALID", "IN_GRACE"}
            answer = {
                "valid": valid,
                "code": self.code,
                "detail": "the license may be used" if valid else f"the license is {self.code}",
                "license_id": "lic_1",
                "valid_until": "2027-03-01T12:00:00Z",
                "nonce": asked["nonce"],
                "checked_at": self.clock().isoformat().replace("+00:00", "Z"),
            }
            body = json.dumps(answer, separators=(",", ":")).encode()
            created = int(self.clock().timestamp())
            headers = sign_answer(self.signer, body=body, nonce=asked["nonce"], created=created)
            status = 200
            if self.tamper is not None:
                status, body, headers = self.tamper(asked, body, headers)
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(404, json={"title": "Not found", "status": 404})
