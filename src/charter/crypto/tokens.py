"""Signed tokens: JWTs (RFC 7519) that software checks offline with the published JWKS alone.

The profile follows the JWT best current practices (RFC 8725):

- a compact JWS signed with the deployment's token key (a purpose of its own in the keyring,
  rotated on its own: :class:`charter.crypto.models.KeyPurpose`), under the one algorithm
  ``Ed25519`` (RFC 9864's fully specified name for EdDSA over Ed25519; the polymorphic
  ``EdDSA`` of RFC 8037 is deprecated). Verification allows that algorithm alone, so ``none``,
  HMAC with the public key as secret, and any other algorithm are refused before a key is used;
- ``kid`` is the RFC 7638 thumbprint of the key, listed in the JWKS (``/.well-known/jwks.json``)
  with ``"alg": "Ed25519"`` and ``"use": "sig"``;
- explicit typing: every kind of token has its own ``typ`` (``license+jwt``), checked on
  verification, so that a token of one kind is never taken for another;
- ``iss`` is the deployment's public URL, ``aud`` says who the token is for, and ``iat``,
  ``nbf``, ``exp`` and ``jti`` are always present; ``exp`` and ``nbf`` are checked with a small
  leeway for clock skew.

A token lives at most ``CHARTER_TOKEN_MAX_LIFETIME_DAYS``; a retired token key stays in the
JWKS that long after its retirement (and is then dropped), so a token keeps verifying until
it expires and no longer once its key has left the JWKS.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import OKPKey
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core import clock
from charter.core.errors import FieldError, Invalid
from charter.crypto import keyring, keys
from charter.crypto.models import KeyPurpose
from charter.db.engine import settings_of

ALGORITHM = "Ed25519"
"""The one JWS algorithm tokens are signed and verified with (RFC 9864)."""
ALGORITHMS = (ALGORITHM,)
"""The verification allow-list (RFC 8725 §3.1)."""
JWKS_MEDIA_TYPE = "application/jwk-set+json"
"""The media type of the published key set (RFC 7517 §8.5.1)."""
REGISTERED_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti"})
"""Claims :func:`sign_token` sets itself; a caller gives the others (``sub`` included)."""
MAX_TOKEN_LENGTH = 64 * 1024
"""Longer text is refused unread: no token Charter signs comes near it."""

_TYP = re.compile(r"[a-z0-9][a-z0-9.+-]*\+jwt")
_MEDIA_TYPE_PREFIX = "application/"


class TokenRejected(Invalid):
    """A token that does not verify; ``reason`` says why (a problem naming the ``token``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token: {reason}", [FieldError("token", reason)])
        self.reason = reason


def issuer_of(settings: Settings) -> str:
    """The ``iss`` of this deployment's tokens: its public URL."""
    return settings.public_url.rstrip("/")


def max_lifetime(settings: Settings) -> timedelta:
    """The longest a token may live (``CHARTER_TOKEN_MAX_LIFETIME_DAYS``)."""
    return timedelta(days=settings.token_max_lifetime_days)


def _check_typ(typ: str) -> str:
    if not isinstance(typ, str) or _TYP.fullmatch(typ) is None:
        raise Invalid.field("typ", "must be a media type's subtype ending in +jwt (license+jwt)")
    return typ


def _same_typ(header_typ: object, typ: str) -> bool:
    """Whether a header's ``typ`` names ``typ``: media types compare without case, and the
    ``application/`` prefix may be left out (RFC 7515 §4.1.9)."""
    if not isinstance(header_typ, str):
        return False
    given = header_typ.lower()
    return given.removeprefix(_MEDIA_TYPE_PREFIX) == typ.lower()


def _numeric_date(at: datetime) -> int:
    return int(clock.ensure_utc(at).timestamp())


def sign_token(
    db: Session,
    *,
    typ: str,
    claims: Mapping[str, Any],
    audience: str | list[str],
    lifetime: timedelta,
    not_before: datetime | None = None,
) -> str:
    """A JWT of kind ``typ`` (``license+jwt``) carrying ``claims``, for ``audience``, valid
    from ``not_before`` (now when not given) until ``lifetime`` from now, signed with the
    active token key (made on first use).

    ``claims`` are the caller's (``sub`` and any private claims, as JSON values); the registered
    ``iss``, ``aud``, ``iat``, ``nbf``, ``exp`` and ``jti`` are set here. ``lifetime`` is at most
    ``CHARTER_TOKEN_MAX_LIFETIME_DAYS``: the JWKS keeps a retired key exactly that long.
    """
    settings = settings_of(db)
    _check_typ(typ)
    audiences = [audience] if isinstance(audience, str) else list(audience)
    if not audiences or not all(isinstance(one, str) and one for one in audiences):
        raise Invalid.field("audience", "must be a non-empty string or list of them")
    longest = max_lifetime(settings)
    if lifetime <= timedelta(0) or lifetime > longest:
        raise Invalid.field(
            "lifetime",
            f"must be positive and at most {settings.token_max_lifetime_days:g} days "
            "(CHARTER_TOKEN_MAX_LIFETIME_DAYS)",
        )
    taken = sorted(REGISTERED_CLAIMS.intersection(claims))
    if taken:
        raise Invalid.field("claims", f"{', '.join(taken)} are set by the signer, not given")
    issued_at = _numeric_date(clock.now())
    # Whole seconds down, so that exp - iat never exceeds the lifetime the window is built on.
    expires = issued_at + int(lifetime.total_seconds())
    valid_from = issued_at if not_before is None else _numeric_date(not_before)
    if valid_from >= expires:
        raise Invalid.field("not_before", "must be before the token expires")
    signer = keyring.active_signer(db, settings, KeyPurpose.TOKEN)
    header = {"alg": ALGORITHM, "typ": typ, "kid": _kid(signer.verification_method)}
    payload = {
        **claims,
        "iss": issuer_of(settings),
        "aud": audiences[0] if len(audiences) == 1 else audiences,
        "iat": issued_at,
        "nbf": valid_from,
        "exp": expires,
        "jti": secrets.token_urlsafe(16),
    }
    try:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise Invalid.field("claims", f"must be JSON values ({error})") from None
    key = OKPKey.import_key(signer.private_key)
    return jws.serialize_compact(header, body.encode("utf-8"), key, algorithms=ALGORITHMS)


def _kid(verification_method: str) -> str:
    return verification_method.removeprefix(keyring.THUMBPRINT_URI_PREFIX)


def public_jwk(kid: str, public_key: Ed25519PublicKey) -> dict[str, str]:
    """One key as the JWKS lists it."""
    return {**keys.public_jwk(public_key), "kid": kid, "use": "sig", "alg": ALGORITHM}


@dataclass(frozen=True, slots=True)
class PublishedKeys:
    """The JWKS as served: its JSON object, and when it next changes by itself (a retired
    key's window ends) unless a key is added or retired before."""

    document: dict[str, Any]
    changes_at: datetime | None

    def body(self) -> bytes:
        """The document as served (compact JSON, UTF-8)."""
        return json.dumps(self.document, separators=(",", ":")).encode("utf-8")


def published_keys(db: Session, settings: Settings) -> PublishedKeys:
    """The JWKS: every token key a verifier needs (active, and retired while its tokens may
    still live), newest first, public parts only."""
    found = keyring.published_token_keys(db, settings)
    window = keyring.token_key_window(settings)
    ends = [key.retired_at + window for key in found if key.retired_at is not None]
    return PublishedKeys(
        document={"keys": [public_jwk(key.kid, key.public_key) for key in found]},
        changes_at=min(ends, default=None),
    )


def jwks(db: Session) -> dict[str, Any]:
    """The JWKS this deployment publishes now (``/.well-known/jwks.json``)."""
    return published_keys(db, settings_of(db)).document


def verify_token(
    source: Session | Mapping[str, Any],
    token: str,
    *,
    typ: str,
    audience: str,
    issuer: str | None = None,
) -> dict[str, Any]:
    """The claims of ``token`` once it holds; :class:`TokenRejected` saying why otherwise.

    ``source`` is a database session (this deployment's published JWKS, its public URL as
    issuer) or a JWKS object (then ``issuer`` is required). The token must be a compact JWS
    with ``alg`` ``Ed25519``, ``typ`` ``typ``, a ``kid`` found in the key set, a signature that
    verifies, ``iss`` ``issuer``, ``aud`` naming ``audience``, and ``exp``, ``nbf`` and ``iat``
    that hold now (within :data:`charter.crypto.keyring.TOKEN_CLOCK_LEEWAY`).
    """
    if isinstance(source, Session):
        key_set: Mapping[str, Any] = jwks(source)
        expected_issuer = issuer or issuer_of(settings_of(source))
    else:
        if issuer is None:
            raise ValueError("verifying against a JWKS needs the expected issuer")
        key_set, expected_issuer = source, issuer
    header = _header(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise TokenRejected(f"its algorithm {alg!r} is not allowed (only {ALGORITHM})")
    if not _same_typ(header.get("typ"), typ):
        raise TokenRejected(f"its type {header.get('typ')!r} is not {typ!r}")
    if header.get("crit"):
        raise TokenRejected("it has critical header parameters, which are not understood")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected("it names no key (kid)")
    jwk = _find_key(key_set, kid)
    if jwk is None:
        raise TokenRejected(f"its key {kid} is not in the key set (unknown or no longer published)")
    try:
        verified = jws.deserialize_compact(token, OKPKey.import_key(jwk), algorithms=ALGORITHMS)
    except JoseError:
        raise TokenRejected(f"its signature does not verify against key {kid}") from None
    try:
        claims = json.loads(verified.payload)
    except (UnicodeError, ValueError):
        raise TokenRejected("its payload is not JSON") from None
    if not isinstance(claims, dict):
        raise TokenRejected("its payload is not a JSON object")
    _check_claims(claims, issuer=expected_issuer, audience=audience)
    return claims


def _header(token: object) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise TokenRejected("it is not a compact JWS (three dot-separated parts)")
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, UnicodeError, ValueError):
        raise TokenRejected("it is not a compact JWS") from None
    return dict(header)


def _find_key(key_set: Mapping[str, Any], kid: str) -> dict[str, Any] | None:
    """The Ed25519 signing key ``kid`` of a JWKS, if it lists one fit for :data:`ALGORITHM`."""
    listed = key_set.get("keys")
    if not isinstance(listed, list):
        return None
    for jwk in listed:
        if not isinstance(jwk, dict) or jwk.get("kid") != kid:
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
            continue
        return {name: jwk[name] for name in ("kty", "crv", "x") if name in jwk}
    return None


def _check_claims(claims: dict[str, Any], *, issuer: str, audience: str) -> None:
    leeway = int(keyring.TOKEN_CLOCK_LEEWAY.total_seconds())
    registry = JWTClaimsRegistry(
        now=_numeric_date(clock.now()),
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        nbf={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise TokenRejected(f"it expired at {_when(claims['exp'])}") from None
    except MissingClaimError as error:
        raise TokenRejected(f"it lacks the claims {error.claim}") from None
    except ClaimError as error:
        raise TokenRejected(_claim_problem(error.claim, claims, issuer, audience)) from None


def _claim_problem(claim: str, claims: dict[str, Any], issuer: str, audience: str) -> str:
    value = claims.get(claim)
    if claim == "iss":
        return f"its issuer {value!r} is not {issuer!r}"
    if claim == "aud":
        return f"its audience {value!r} does not name {audience!r}"
    if claim == "nbf" and isinstance(value, int | float):
        return f"it is not valid before {_when(value)}"
    if claim == "iat" and isinstance(value, int | float):
        return f"it was issued in the future ({_when(value)})"
    return f"its claim {claim} is not valid"


def _when(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        except (OverflowError, OSError, ValueError):
            pass
    return repr(value)


__all__ = [
    "ALGORITHM",
    "JWKS_MEDIA_TYPE",
    "PublishedKeys",
    "TokenRejected",
    "issuer_of",
    "jwks",
    "max_lifetime",
    "published_keys",
    "sign_token",
    "verify_token",
]
