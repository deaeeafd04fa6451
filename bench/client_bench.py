"""The license client's offline token verification against raw Ed25519 verification.

``python -m bench client [--seconds S]``. Signs a license token as Charter does (``license+jwt``,
``Ed25519``, the claims of a real license) with a fresh key, then measures in the same run:

- the floor: ``cryptography``'s Ed25519 verification of a signature over a message of the
  token's signing-input size, with the same key;
- the client's :meth:`charter_client.LicenseClient.verify_token` on that token, offline with
  its cached JWKS: base64url and JSON parsing, the RFC 8725 header checks, the signature, the
  registered claims and the license claims.

The ratio of the second rate to the first is the figure that matters (goal: at least 0.7):
what the client adds to the one signature check it cannot avoid.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rich.console import Console
from rich.table import Table

from charter_client import LicenseClient

ISSUER = "https://partners.example.com"
PRODUCT = "PLAT-1"
GOAL = 0.7


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _token(private_key: Ed25519PrivateKey, kid: str, now: int) -> str:
    header = {"alg": "Ed25519", "typ": "license+jwt", "kid": kid}
    claims = {
        "sub": "lic_01JF8ZQ6V3K4X9W2T7R5M1N0PB",
        "license": "lic_01JF8ZQ6V3K4X9W2T7R5M1N0PB",
        "partner": "prt_01JF8ZQ1A2B3C4D5E6F7G8H9JK",
        "product": PRODUCT,
        "product_id": "prd_01JF8ZPZ9Y8X7W6V5T4S3R2Q1P",
        "entitlements": ["analytics", "api_access", "partner_portal", "priority_support"],
        "seats": 25,
        "regions": ["emea", "na"],
        "countries": ["DE", "FR", "US"],
        "valid_from": now,
        "valid_until": now + 365 * 86400,
        "grace_until": None,
        "iss": ISSUER,
        "aud": PRODUCT,
        "iat": now,
        "nbf": now,
        "exp": now + 7 * 86400,
        "jti": "s0l2Z4cOq3a1T7xYb9QhWw",
    }
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = private_key.sign(signing_input.encode("ascii"))
    return signing_input + "." + _b64url(signature)


def _rate(run: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``run``, over batches until ``seconds`` have passed."""
    for _ in range(200):
        run()
    calls = 0
    started = time.perf_counter()
    while True:
        for _ in range(500):
            run()
        calls += 500
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls / elapsed


def main(argv: list[str]) -> None:
    """Measure and print the rates and their ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench client", description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best kept")
    options = parser.parse_args(argv)

    private_key = Ed25519PrivateKey.generate()
    public_key = private_key.public_key()
    x = _b64url(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    thumbprint_input = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = _b64url(hashlib.sha256(thumbprint_input.encode()).digest())
    now = int(datetime.now(UTC).timestamp())
    token = _token(private_key, kid, now)
    message = token.rsplit(".", 1)[0].encode("ascii")
    raw_signature = private_key.sign(message)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "Ed25519"}

    with tempfile.TemporaryDirectory() as directory:
        cache = Path(directory)
        client = LicenseClient(ISSUER, "CHL-UNUSED", PRODUCT, cache_dir=cache)
        # The JWKS as the client caches it after its first fetch: verification is offline.
        client.cache.write_json(client._jwks_name, {"keys": [jwk]})
        assert client.verify_token(token).seats == 25

        def raw() -> None:
            public_key.verify(raw_signature, message)

        def offline() -> None:
            client.verify_token(token)

        raw_rates, client_rates = [], []
        for _ in range(options.rounds):
            raw_rates.append(_rate(raw, options.seconds))
            client_rates.append(_rate(offline, options.seconds))
        client.close()

    raw_rate, client_rate = max(raw_rates), max(client_rates)
    ratio = client_rate / raw_rate
    table = Table(title="Offline license token verification")
    table.add_column("what")
    table.add_column("verifications/s", justify="right")
    table.add_column("ratio", justify="right")
    table.add_row(f"raw Ed25519 verify ({len(message)} bytes)", f"{raw_rate:,.0f}", "1.00")
    table.add_row("charter_client verify_token", f"{client_rate:,.0f}", f"{ratio:.2f}")
    console = Console()
    console.print(table)
    verdict = "meets" if ratio >= GOAL else "misses"
    console.print(f"client/raw ratio {ratio:.2f}: {verdict} the goal of at least {GOAL}")
