"""The license client: ask the server, believe only signed answers, and get through outages.

Online, :meth:`LicenseClient.validate` sends a fresh random nonce and believes the answer only
when its RFC 9421 signature verifies with a key of the deployment's JWKS (fetched once,
cached, and fetched again once when an answer names a key it does not list), covers
``"@status"`` and ``"content-digest"``, matches the body's SHA-256 and echoes the nonce. An
answer that fails any of these is refused (``UNVERIFIED``), never taken for an outage.

When the server cannot be reached (network error, timeout, ``5xx``, ``429``), the client
falls back on what it holds, signed, in its cache: the last verified valid answer to the same
question (re-verified, with its own nonce), or else the offline token when it verifies and
covers the question. Either is believed for ``grace`` after the server last confirmed the
license (the signed ``created`` of its last valid answer, or the token's ``iat``); past that,
``UNREACHABLE``. A signed refusal of the license (revoked, suspended, expired...) wipes what
the cache held, so the next outage does not bring the license back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from charter_client import httpsig, jose
from charter_client.cache import Cache
from charter_client.errors import Refused, SignatureRejected, TokenRejected, Unreachable

SIGNATURE_LABEL = "charter"
SIGNATURE_TAG = "charter-license-validation"
JWKS_PATH = "/.well-known/jwks.json"
VALIDATE_PATH = "/api/v1/licenses/validate"
UNREACHABLE = "UNREACHABLE"
"""The client's code when the server cannot be reached and nothing cached may stand in."""
UNVERIFIED = "UNVERIFIED"
"""The client's code for an answer whose signature, digest or nonce does not hold."""
LICENSE_WIDE_REFUSALS = frozenset(
    {
        "NOT_FOUND",
        "PRODUCT_MISMATCH",
        "REVOKED",
        "PARTNER_SUSPENDED",
        "SUSPENDED",
        "EXPIRED",
        "CERTIFICATION_REQUIRED",
        "TOO_MANY_ACTIVATIONS",
        "NOT_ACTIVATED",
        "HEARTBEAT_DEAD",
    }
)
"""Refusals of the license itself (not of one feature or region): they wipe the cache."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/charter-license`` (``~/.cache/charter-license``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "charter-license"


def _system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Result:
    """A decision on the license.

    ``code`` is the server's (``VALID``, ``IN_GRACE``, ``REVOKED``...) or the client's own
    (``UNREACHABLE``, ``UNVERIFIED``). ``online`` is false when the decision comes from the
    cache (``source`` ``answer`` or ``token``) during an outage; ``offline_until`` is then when
    the grace ends. ``checked_at`` is when the server made the decision it rests on.
    """

    valid: bool
    code: str
    detail: str
    license_id: str | None = None
    valid_until: datetime | None = None
    checked_at: datetime | None = None
    online: bool = True
    source: str = "server"
    offline_until: datetime | None = None

    def __bool__(self) -> bool:
        return self.valid


@dataclass(frozen=True, slots=True)
class Activation:
    """This machine's seat, as the server describes it."""

    id: str
    license_id: str
    fingerprint: str
    state: str
    heartbeat_interval_seconds: int
    heartbeat_deadline: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _question(feature: str | None, region: str | None, country: str | None) -> str:
    return json.dumps([feature, region, country])


class LicenseClient:
    """Checks one license key of one product against a Charter deployment.

    ``base_url`` is the deployment (``https://partners.example.com``); ``issuer`` its public
    URL as tokens name it (``base_url`` by default); ``fingerprint`` this machine's, needed to
    activate (and sent with validations so that seats are checked); ``grace`` how long cached
    signed answers stand in while the server is unreachable; ``clock`` returns the current UTC
    time (tests move it); ``transport`` an ``httpx`` transport (tests, proxies).
    """

    def __init__(
        self,
        base_url: str,
        key: str,
        product: str,
        *,
        fingerprint: str | None = None,
        cache_dir: Path | str | None = None,
        grace: timedelta = timedelta(days=3),
        issuer: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = _system_clock,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.product = product
        self.fingerprint = fingerprint
        self.grace = grace
        self.issuer = (issuer or self.base_url).rstrip("/")
        self.clock = clock
        self.cache = Cache(Path(cache_dir) if cache_dir is not None else default_cache_dir())
        identity = hashlib.sha256(f"{self.base_url}\n{product}\n{key}".encode()).hexdigest()
        self._state_name = f"state-{identity[:16]}.json"
        self._token_name = f"token-{identity[:16]}.jwt"
        self._jwks_name = f"jwks-{hashlib.sha256(self.base_url.encode()).hexdigest()[:16]}.json"
        self._keys: jose.KeySet | None = None
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> LicenseClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def refresh_keys(self) -> jose.KeySet:
        """Fetch the deployment's JWKS and cache it; :class:`Unreachable` when it cannot."""
        try:
            response = self._http.get(JWKS_PATH)
        except httpx.HTTPError as error:
            raise Unreachable(f"the key set could not be fetched: {error}") from None
        if response.status_code != 200:
            raise Unreachable(f"the key set could not be fetched: HTTP {response.status_code}")
        try:
            keys = jose.KeySet(response.json())
        except ValueError:
            raise Unreachable("the key set is not a JWKS") from None
        self.cache.write_json(self._jwks_name, keys.document)
        self._keys = keys
        return keys

    def _cached_keys(self) -> jose.KeySet | None:
        if self._keys is None:
            document = self.cache.read_json(self._jwks_name)
            if document is not None:
                try:
                    self._keys = jose.KeySet(document)
                except ValueError:
                    self._keys = None
        return self._keys

    def _key_for(self, *, refresh: bool) -> Callable[[str], Ed25519PublicKey | None]:
        """A key lookup over the cached JWKS that, when ``refresh``, fetches it once more on
        an unknown ``kid`` (a key rotated in since it was cached)."""
        refreshed = False

        def lookup(kid: str) -> Ed25519PublicKey | None:
            nonlocal refreshed
            keys = self._cached_keys()
            found = keys.get(kid) if keys is not None else None
            if found is None and refresh and not refreshed:
                refreshed = True
                try:
                    found = self.refresh_keys().get(kid)
                except Unreachable:
                    return None
            return found

        return lookup

    def validate(
        self, feature: str | None = None, region: str | None = None, country: str | None = None
    ) -> Result:
        """Whether the license may be used now (for ``feature``, in sales ``region`` and
        ``country``): the server's signed answer, or during an outage the cache's within the
        grace period. Input the server refuses as malformed raises :class:`Refused`."""
        nonce = secrets.token_urlsafe(24)
        request: dict[str, Any] = {"key": self.key, "product": self.product, "nonce": nonce}
        for name, value in (
            ("fingerprint", self.fingerprint),
            ("feature", feature),
            ("region", region),
            ("country", country),
        ):
            if value is not None:
                request[name] = value
        question = _question(feature, region, country)
        try:
            response = self._http.post(VALIDATE_PATH, json=request)
        except httpx.TransportError as error:
            return self._offline(question, feature, region, country, f"unreachable ({error})")
        if response.status_code == 429 or response.status_code >= 500:
            reason = f"answered HTTP {response.status_code}"
            return self._offline(question, feature, region, country, reason)
        if response.status_code != 200:
            raise _refused(response)
        stored = {
            "status": response.status_code,
            "headers": {
                name: response.headers[name]
                for name in ("content-digest", "signature-input", "signature")
                if name in response.headers
            },
            "body": base64.b64encode(response.content).decode("ascii"),
            "nonce": nonce,
        }
        try:
            signed, body = self._verify_answer(stored, refresh=True)
        except SignatureRejected as error:
            return Result(False, UNVERIFIED, f"the server's answer was not believed: {error}")
        result = _result_of(body, signed)
        self._remember(question, result, stored)
        return result

    def _verify_answer(
        self, stored: dict[str, Any], *, refresh: bool
    ) -> tuple[httpsig.VerifiedSignature, dict[str, Any]]:
        body = base64.b64decode(stored["body"])
        signed = httpsig.verify_response(
            status=int(stored["status"]),
            headers=stored["headers"],
            body=body,
            label=SIGNATURE_LABEL,
            key_for=self._key_for(refresh=refresh),
            nonce=stored["nonce"],
            tag=SIGNATURE_TAG,
        )
        try:
            answer = json.loads(body)
        except ValueError:
            raise SignatureRejected("the signed body is not JSON") from None
        if not isinstance(answer, dict) or answer.get("nonce") != stored["nonce"]:
            raise SignatureRejected("the body does not echo the nonce sent")
        if not isinstance(answer.get("valid"), bool) or not isinstance(answer.get("code"), str):
            raise SignatureRejected("the body is not a validation decision")
        return signed, answer

    def _state(self) -> dict[str, Any]:
        return self.cache.read_json(self._state_name) or {"answers": {}}

    def _remember(self, question: str, result: Result, stored: dict[str, Any]) -> None:
        state = self._state()
        answers: dict[str, Any] = state.setdefault("answers", {})
        if result.valid:
            answers[question] = stored
            if result.license_id:
                state["license_id"] = result.license_id
        elif result.code in LICENSE_WIDE_REFUSALS:
            state = {"answers": {}}
            self.cache.delete(self._token_name)
        else:
            answers.pop(question, None)
        self.cache.write_json(self._state_name, state)

    def _offline(
        self,
        question: str,
        feature: str | None,
        region: str | None,
        country: str | None,
        reason: str,
    ) -> Result:
        now = self.clock()
        state = self._state()
        confirmed: list[datetime] = []
        exact: tuple[httpsig.VerifiedSignature, dict[str, Any]] | None = None
        for name, stored in state.get("answers", {}).items():
            try:
                signed, body = self._verify_answer(stored, refresh=False)
            except (SignatureRejected, KeyError, TypeError, ValueError):
                continue
            confirmed.append(datetime.fromtimestamp(signed.created, UTC))
            if name == question:
                exact = signed, body
        if exact is not None:
            signed, body = exact
            until = datetime.fromtimestamp(signed.created, UTC) + self.grace
            cached = _result_of(body, signed)
            ended = cached.code == "VALID" and cached.valid_until and cached.valid_until <= now
            if now <= until and not ended:
                return Result(
                    True,
                    cached.code,
                    f"the server is {reason}; its signed answer of "
                    f"{cached.checked_at} stands in until {until.isoformat()}",
                    cached.license_id,
                    cached.valid_until,
                    cached.checked_at,
                    online=False,
                    source="answer",
                    offline_until=until,
                )
        by_token, note = self._offline_by_token(now, confirmed, reason, feature, region, country)
        if by_token is not None:
            return by_token
        if confirmed and now > max(confirmed) + self.grace:
            ended_at = max(confirmed) + self.grace
            detail = (
                f"the license server is {reason}, and the grace period of {self.grace} "
                f"after its last confirmation ended at {ended_at.isoformat()}"
            )
            return Result(False, UNREACHABLE, detail, online=False, source="none")
        detail = (
            f"the license server is {reason}, and no signed answer to this question is "
            f"cached ({note})"
        )
        return Result(False, UNREACHABLE, detail, online=False, source="none")

    def _offline_by_token(
        self,
        now: datetime,
        confirmed: list[datetime],
        reason: str,
        feature: str | None,
        region: str | None,
        country: str | None,
    ) -> tuple[Result | None, str]:
        """The cached offline token's decision, or ``None`` and why it cannot give one."""
        cached = self.cache.read_text(self._token_name)
        if cached is None:
            return None, "no offline token is cached"
        try:
            claims = self.verify_token(cached)
        except TokenRejected as error:
            return None, f"the offline token: {error.reason}"
        if claims.issued_at is not None:
            confirmed.append(claims.issued_at)
        if not claims.covers(feature=feature, region=region, country=country):
            return None, "the offline token does not cover this feature or region"
        if not confirmed:
            return None, "nothing says when the server last confirmed the license"
        until = max(confirmed) + self.grace
        if now > until:
            return None, "the grace period has ended"
        detail = f"the server is {reason}; the offline token stands in until {until.isoformat()}"
        result = Result(
            True,
            "VALID",
            detail,
            claims.license_id,
            claims.valid_until,
            claims.issued_at,
            online=False,
            source="token",
            offline_until=until,
        )
        return result, ""

    def verify_token(self, token: str, *, refresh_keys: bool = False) -> jose.Claims:
        """The license an offline token states, verified with the cached JWKS (fetched when
        none is cached, or once more on an unknown key when ``refresh_keys``);
        :class:`TokenRejected` saying why otherwise."""
        keys = self._cached_keys()
        if keys is None:
            try:
                keys = self.refresh_keys()
            except Unreachable as error:
                raise TokenRejected(f"no key set is cached and {error}") from None
        now = self.clock().timestamp()

        def check(keys: jose.KeySet) -> dict[str, Any]:
            return jose.verify_jwt(
                token,
                keys,
                typ=jose.LICENSE_JWT_TYP,
                issuer=self.issuer,
                audience=self.product,
                now=now,
            )

        try:
            claims = check(keys)
        except TokenRejected as error:
            if not (refresh_keys and "not in the key set" in error.reason):
                raise
            try:
                claims = check(self.refresh_keys())
            except Unreachable:
                raise error from None
        return jose.license_claims(claims, self.product)

    def fetch_token(self, api_key: str, license_id: str | None = None) -> jose.Claims:
        """Fetch a fresh offline token with an API key of someone who may read the license,
        verify it and cache it; its claims. ``license_id`` defaults to the one the last
        valid answer named (a validation is made first when none did)."""
        license_id = license_id or self._state().get("license_id")
        if license_id is None:
            result = self.validate()
            license_id = result.license_id
            if license_id is None:
                raise Refused(0, result.code, result.detail)
        try:
            response = self._http.get(
                f"/api/v1/licenses/{license_id}/token",
                headers={"Authorization": f"Bearer {api_key}"},
            )
        except httpx.TransportError as error:
            raise Unreachable(f"the license server is unreachable ({error})") from None
        if response.status_code != 200:
            raise _refused(response)
        token = response.json().get("token")
        if not isinstance(token, str):
            raise Refused(response.status_code, "MALFORMED", "the answer carries no token")
        claims = self.verify_token(token, refresh_keys=True)
        self.cache.write_text(self._token_name, token)
        return claims

    def cached_token(self) -> str | None:
        """The offline token in the cache, if any (not verified)."""
        return self.cache.read_text(self._token_name)

    def activate(self, region: str, customer_name: str, country: str | None = None) -> Activation:
        """Take a seat for this machine (idempotent by fingerprint); :class:`Refused` with the
        server's code (``TOO_MANY_ACTIVATIONS``, ``REVOKED``...) when it may not."""
        body: dict[str, Any] = {"region": region, "customer_name": customer_name}
        if country is not None:
            body["country"] = country
        return self._activation("activate", body)

    def heartbeat(self) -> Activation:
        """Keep this machine's seat; :class:`Refused` ``HEARTBEAT_DEAD`` when it was freed."""
        return self._activation("heartbeat", {})

    def deactivate(self) -> Activation:
        """Free this machine's seat; :class:`Refused` ``NOT_ACTIVATED`` when it holds none."""
        return self._activation("deactivate", {})

    def _activation(self, action: str, extra: dict[str, Any]) -> Activation:
        if self.fingerprint is None:
            raise ValueError("activations need the machine's fingerprint (fingerprint=...)")
        body = {"key": self.key, "fingerprint": self.fingerprint, **extra}
        try:
            response = self._http.post(f"/api/v1/licenses/{action}", json=body)
        except httpx.TransportError as error:
            raise Unreachable(f"the license server is unreachable ({error})") from None
        if response.status_code not in {200, 201}:
            raise _refused(response)
        data = response.json()
        return Activation(
            id=data["id"],
            license_id=data["license_id"],
            fingerprint=data["fingerprint"],
            state=data["state"],
            heartbeat_interval_seconds=int(data["heartbeat_interval_seconds"]),
            heartbeat_deadline=_parse_time(data.get("heartbeat_deadline")),
            raw=data,
        )


def _result_of(body: dict[str, Any], signed: httpsig.VerifiedSignature) -> Result:
    return Result(
        valid=body["valid"],
        code=body["code"],
        detail=str(body.get("detail", "")),
        license_id=body.get("license_id"),
        valid_until=_parse_time(body.get("valid_until")),
        checked_at=datetime.fromtimestamp(signed.created, UTC),
    )


def _refused(response: httpx.Response) -> Refused:
    """The refusal a problem+json (or any other) answer states."""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return Refused(response.status_code, f"HTTP_{response.status_code}", response.text[:200])
    code = problem.get("code")
    if not isinstance(code, str):
        code = str(problem.get("type", "")).rsplit("/", 1)[-1] or f"HTTP_{response.status_code}"
    detail = str(problem.get("detail") or problem.get("title") or "")
    errors = problem.get("errors")
    if isinstance(errors, list) and errors:
        detail += (
            " ("
            + "; ".join(
                f"{item.get('field')}: {item.get('detail')}"
                for item in errors
                if isinstance(item, dict)
            )
            + ")"
        )
    return Refused(response.status_code, code, detail)
