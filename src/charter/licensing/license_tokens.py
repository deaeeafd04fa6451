"""Offline license tokens: a signed JWT restating a license, for software that runs offline.

The token (:mod:`charter.crypto.tokens`: RFC 7519 with the RFC 8725 profile, Ed25519 under a
``kid`` from the JWKS) has the type ``license+jwt`` and the product's code as audience, and
carries the license as it stands: its id (``sub`` and ``license``), firm (``partner``),
product (``product``, ``product_id``), ``entitlements``, ``seats``, ``regions``,
``countries``, its own term (``valid_from``, ``valid_until``, NumericDates) and grace
(``grace_until``, a NumericDate, or null while licenses have no grace period). The token
itself lives ``CHARTER_LICENSE_TOKEN_LIFETIME_DAYS`` (at most the token maximum), and never
past the license's term: software refreshes it while online, and a suspended or revoked
license gets no new one.

Whoever may read the license may have its token (partner users their own firm's): it grants
nothing that reading the license does not show, signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.core.errors import Conflict
from charter.crypto import tokens
from charter.db.engine import settings_of
from charter.licensing import service
from charter.licensing.enums import LicenseStatus
from charter.licensing.models import License, Product

TYP = "license+jwt"
"""The explicit ``typ`` of license tokens (RFC 8725 §3.11)."""
SHORTEST = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class LicenseToken:
    """A signed license token, and what a caller needs to know of it without decoding it."""

    license_id: str
    token: str
    audience: str
    expires_at: datetime


def _numeric(at: datetime) -> int:
    return int(clock.ensure_utc(at).timestamp())


def token_claims(license: License, product_code: str) -> dict[str, Any]:
    """The license's claims in its token (the registered ones are the signer's)."""
    return {
        "sub": license.id,
        "license": license.id,
        "partner": license.partner_id,
        "product": product_code,
        "product_id": license.product_id,
        "entitlements": list(license.entitlements),
        "seats": license.seats,
        "regions": list(license.regions),
        "countries": list(license.countries),
        "valid_from": _numeric(license.valid_from),
        "valid_until": _numeric(license.valid_until),
        "grace_until": None,
    }


def issue_license_token(db: Session, actor: Principal, *, license_id: str) -> LicenseToken:
    """A fresh offline token of an active license the caller may read.

    :class:`NotFound` for a license out of the caller's reach, :class:`Conflict` for one that
    is not active (suspended, expired, revoked, terminated): it must not run offline.
    """
    license = service.get_license(db, actor, license_id=license_id)
    now = clock.now()
    status = service.status_of(license, now)
    if status is not LicenseStatus.ACTIVE:
        raise Conflict(f"license {license.id} is {status.value}: only active licenses get tokens")
    product = db.get(Product, license.product_id)
    assert product is not None  # a foreign key
    settings = settings_of(db)
    lifetime = min(
        timedelta(days=settings.license_token_lifetime_days),
        tokens.max_lifetime(settings),
        license.valid_until - now,
    )
    lifetime = max(lifetime, SHORTEST)
    token = tokens.sign_token(
        db,
        typ=TYP,
        claims=token_claims(license, product.code),
        audience=product.code,
        lifetime=lifetime,
    )
    expires = now.replace(microsecond=0) + timedelta(seconds=int(lifetime.total_seconds()))
    return LicenseToken(license.id, token, product.code, expires)
