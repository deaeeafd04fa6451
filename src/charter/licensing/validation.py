"""License validation: may this key be used, here, now, for this product and feature?

Licensed software asks ``POST /api/v1/licenses/validate`` with its key; the answer is a
decision with one code from :class:`ValidationCode` and a readable detail. The decision is a
pure function (:func:`decide`) over a :class:`LicenseSnapshot` (one indexed read by the key's
keyed hash, :func:`load_snapshot`) and the request; the first check that fails gives the
code. The order, first to last:

1. ``NOT_FOUND``: no license has this key.
2. ``PRODUCT_MISMATCH``: the key is a license for another product.
3. ``EMBARGOED_REGION``: the country or subdivision asked about is embargoed
   (``CHARTER_LICENSE_EMBARGOED_REGIONS``); refused whatever the license covers.
4. ``REVOKED``: the license was revoked, or terminated with its agreement or firm.
5. ``PARTNER_SUSPENDED``: the firm holding the license is suspended or terminated.
6. ``SUSPENDED``: the license itself is suspended.
7. ``EXPIRED``: its term has ended (past ``grace_until``, when there is one).
8. ``CERTIFICATION_REQUIRED``: the firm no longer holds the certifications the agreement
   requires, and their grace has ended (input ``certification_required``).
9. ``PENDING_APPROVAL`` / ``REGION_NOT_PERMITTED``: the region or country asked about is not
   covered by the license; ``PENDING_APPROVAL`` when a request to extend it awaits a
   governance owner (input ``pending_approval``).
10. ``FEATURE_NOT_ENTITLED``: the feature asked about is not among the license's entitlements.
11. ``TOO_MANY_ACTIVATIONS``, ``NOT_ACTIVATED``, ``HEARTBEAT_DEAD``: the machine's activation
    (input ``activation``): more machines active than seats, this fingerprint not activated,
    or its heartbeat has stopped.
12. ``IN_GRACE`` (valid): the term has ended but the license is within its grace period.
13. ``VALID``.

The inputs named above come from slices built separately: the activations
(``activation``), approvals (``pending_approval``: :mod:`charter.licensing.portability`) and
grace (``grace_until``, ``certification_required``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection, bindparam, select

from charter.licensing.enums import LicenseStatus
from charter.licensing.models import License, Product
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner
from charter.partners.taxonomy_schemas import RegionCode


class ValidationCode(StrEnum):
    """Why a license is (or is not) valid for a request; one per check, see the module."""

    VALID = "VALID"
    """The license may be used as asked."""
    IN_GRACE = "IN_GRACE"
    """Valid: the term has ended, but the license is within its grace period."""
    NOT_FOUND = "NOT_FOUND"
    """No license has this key."""
    PRODUCT_MISMATCH = "PRODUCT_MISMATCH"
    """The key belongs to a license for another product."""
    EMBARGOED_REGION = "EMBARGOED_REGION"
    """The country or subdivision is under embargo; no license covers it."""
    REVOKED = "REVOKED"
    """The license was revoked or terminated, for good."""
    PARTNER_SUSPENDED = "PARTNER_SUSPENDED"
    """The partner firm holding the license is suspended or terminated."""
    SUSPENDED = "SUSPENDED"
    """The license is suspended (it may be reinstated)."""
    EXPIRED = "EXPIRED"
    """The license's term (and grace) has ended."""
    CERTIFICATION_REQUIRED = "CERTIFICATION_REQUIRED"
    """The firm lacks a certification the agreement requires (grace slice: not yet fed)."""
    PENDING_APPROVAL = "PENDING_APPROVAL"
    """The region is not covered yet; a request to extend the license to it awaits approval."""
    REGION_NOT_PERMITTED = "REGION_NOT_PERMITTED"
    """The region or country is outside the license's territory."""
    FEATURE_NOT_ENTITLED = "FEATURE_NOT_ENTITLED"
    """The feature is not among the license's entitlements."""
    TOO_MANY_ACTIVATIONS = "TOO_MANY_ACTIVATIONS"
    """More machines are activated than the license has seats (activations slice)."""
    NOT_ACTIVATED = "NOT_ACTIVATED"
    """This machine's fingerprint is not activated on the license (activations slice)."""
    HEARTBEAT_DEAD = "HEARTBEAT_DEAD"
    """This machine's activation stopped sending heartbeats (activations slice)."""


VALID_CODES = frozenset({ValidationCode.VALID, ValidationCode.IN_GRACE})
"""The codes whose decision is ``valid``."""

NONCE_PATTERN = r"^[A-Za-z0-9._~+/=-]{8,128}$"
"""A client nonce: 8 to 128 characters that need no escaping in a structured field."""
_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def region_code(value: str) -> str:
    """An ISO 3166-1 alpha-2 country or ISO 3166-2 subdivision code, upper-cased;
    :class:`ValueError` for anything else."""
    code = value.strip().upper()
    if _SUBDIVISION.fullmatch(code):
        # pycountry's subdivision database has no type annotations.
        if pycountry.subdivisions.get(code=code) is None:  # type: ignore[no-untyped-call]
            raise ValueError(f"{value!r} is not an ISO 3166-2 subdivision code")
        return code
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (or ISO 3166-2)")
    return code


class ValidationRequest(BaseModel):
    """What licensed software asks: its key, the product it is, and where and what it runs.

    ``region`` is a sales region (``emea``); ``country`` an ISO 3166-1 alpha-2 country
    (``DE``) or an ISO 3166-2 subdivision (``UA-43``). ``nonce`` is echoed in the signed
    response so that a recorded answer cannot be replayed to another request.
    """

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "key": "CHL-0ABCD-EFGH1-JKMNP-QRSTV-S",
                    "product": "ANALYTICS",
                    "nonce": "q7XnZk2mP9rT4vW1",
                    "fingerprint": "4f1c2a9e7b3d4c5e8f60718293a4b5c6",
                    "feature": "sso",
                    "region": "emea",
                    "country": "DE",
                }
            ]
        },
    )

    key: str = Field(min_length=1, max_length=64, examples=["CHL-0ABCD-EFGH1-JKMNP-QRSTV-S"])
    product: str = Field(min_length=1, max_length=64, description="The product's code")
    nonce: str = Field(pattern=NONCE_PATTERN, description="A fresh value from the client")
    fingerprint: str | None = Field(default=None, min_length=1, max_length=256)
    feature: str | None = Field(default=None, min_length=1, max_length=64)
    region: RegionCode | None = None
    country: str | None = Field(default=None, min_length=2, max_length=6)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else region_code(value)


@dataclass(frozen=True, slots=True)
class LicenseSnapshot:
    """What a decision needs of a license, read in one query (no ORM objects)."""

    license_id: str
    partner_id: str
    product_code: str
    status: LicenseStatus
    partner_status: str
    seats: int
    entitlements: frozenset[str]
    regions: frozenset[str]
    countries: frozenset[str]
    valid_from: datetime
    valid_until: datetime
    grace_until: datetime | None = None
    """End of the grace after the term (grace slice); ``None``: no grace."""
    compliance: str = "ok"
    """Whether the firm meets its agreement (:mod:`charter.licensing.compliance`): ``ok``,
    ``grace`` (valid, ``IN_GRACE``, until ``compliance_due``) or ``lapsed``
    (``CERTIFICATION_REQUIRED``)."""
    compliance_due: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActivationState:
    """What the activations slice knows of the asking machine, for the last checks."""

    fingerprint_activated: bool
    active_machines: int
    heartbeat_alive: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: a code, a readable detail, and the license it concerns (if found)."""

    code: ValidationCode
    detail: str
    license_id: str | None = None
    valid_until: datetime | None = None

    @property
    def valid(self) -> bool:
        """Whether the software may run as asked."""
        return self.code in VALID_CODES


_REVOKED = frozenset({LicenseStatus.REVOKED, LicenseStatus.TERMINATED})
_FIRM_HALTED = frozenset({PartnerStatus.SUSPENDED.value, PartnerStatus.TERMINATED.value})


def embargoed(code: str, embargo: frozenset[str]) -> bool:
    """Whether a country or subdivision ``code`` is embargoed: listed itself, or (a
    subdivision) its country is."""
    return code in embargo or code.split("-", 1)[0] in embargo


def decide(
    snapshot: LicenseSnapshot | None,
    request: ValidationRequest,
    *,
    at: datetime,
    embargo: frozenset[str],
    activation: ActivationState | None = None,
    pending_approval: bool = False,
    certification_required: bool = False,
) -> Decision:
    """The decision on ``request`` for the license ``snapshot`` (``None``: no license has the
    key) at ``at``; the checks run in the order the module lists, the first failure decides."""
    if snapshot is None:
        return Decision(ValidationCode.NOT_FOUND, "no license has this key")
    ended = snapshot.status is LicenseStatus.EXPIRED or snapshot.valid_until <= at
    in_grace = ended and snapshot.grace_until is not None and at < snapshot.grace_until
    certification_required = certification_required or snapshot.compliance == "lapsed"
    found = (
        _product_and_embargo(snapshot, request, embargo)
        or _standing(snapshot, ended=ended, in_grace=in_grace)
        or _scope(snapshot, request, certification_required, pending_approval)
        or _activation(snapshot, activation)
    )
    if found is not None:
        code, detail = found
    elif in_grace:
        assert snapshot.grace_until is not None
        code = ValidationCode.IN_GRACE
        detail = f"the license's term ended; it is in grace until {snapshot.grace_until:%Y-%m-%d}"
    elif snapshot.compliance == "grace":
        code = ValidationCode.IN_GRACE
        due = snapshot.compliance_due
        detail = "the firm no longer meets its agreement's requirements" + (
            f"; the license lapses on {due:%Y-%m-%d} unless it does again" if due else ""
        )
    else:
        code, detail = ValidationCode.VALID, "the license is valid"
    return Decision(code, detail, snapshot.license_id, snapshot.valid_until)


_Failure = tuple[ValidationCode, str]


def _product_and_embargo(
    snapshot: LicenseSnapshot, request: ValidationRequest, embargo: frozenset[str]
) -> _Failure | None:
    if request.product.casefold() != snapshot.product_code.casefold():
        return (
            ValidationCode.PRODUCT_MISMATCH,
            f"this key is a license for product {snapshot.product_code}, not {request.product}",
        )
    if request.country is not None and embargoed(request.country, embargo):
        return (
            ValidationCode.EMBARGOED_REGION,
            f"{request.country} is under embargo: no license may be used there",
        )
    return None


def _standing(snapshot: LicenseSnapshot, *, ended: bool, in_grace: bool) -> _Failure | None:
    if snapshot.status in _REVOKED:
        return ValidationCode.REVOKED, f"the license was {snapshot.status.value}"
    if snapshot.partner_status in _FIRM_HALTED:
        return (
            ValidationCode.PARTNER_SUSPENDED,
            f"the partner holding the license is {snapshot.partner_status}",
        )
    if snapshot.status is LicenseStatus.SUSPENDED:
        return ValidationCode.SUSPENDED, "the license is suspended"
    if ended and not in_grace:
        return (
            ValidationCode.EXPIRED,
            f"the license expired on {snapshot.valid_until:%Y-%m-%d}",
        )
    return None


def _scope(
    snapshot: LicenseSnapshot,
    request: ValidationRequest,
    certification_required: bool,
    pending_approval: bool,
) -> _Failure | None:
    if certification_required:
        return (
            ValidationCode.CERTIFICATION_REQUIRED,
            "the partner no longer holds a certification the license's agreement requires",
        )
    outside = outside_territory(snapshot, request)
    if outside is not None:
        if pending_approval:
            return (
                ValidationCode.PENDING_APPROVAL,
                f"{outside} is not covered yet: a request to extend the license awaits approval",
            )
        return ValidationCode.REGION_NOT_PERMITTED, f"the license does not cover {outside}"
    if request.feature is not None and request.feature not in snapshot.entitlements:
        return (
            ValidationCode.FEATURE_NOT_ENTITLED,
            f"the license does not entitle to the feature {request.feature}",
        )
    return None


def _activation(snapshot: LicenseSnapshot, activation: ActivationState | None) -> _Failure | None:
    if activation is None:
        return None
    if activation.active_machines > snapshot.seats:
        return (
            ValidationCode.TOO_MANY_ACTIVATIONS,
            f"{activation.active_machines} machines are active on {snapshot.seats} seats",
        )
    if not activation.fingerprint_activated:
        return ValidationCode.NOT_ACTIVATED, "this machine is not activated"
    if not activation.heartbeat_alive:
        return ValidationCode.HEARTBEAT_DEAD, "this machine's heartbeat has stopped"
    return None


def outside_territory(snapshot: LicenseSnapshot, request: ValidationRequest) -> str | None:
    """What the request names that the license's territory does not cover, if anything.

    A country is covered when the license lists it (a subdivision: when it lists its
    country); a sales region when the license lists it. A country the license does not list
    is still covered when the request also names a sales region the license covers: the
    region grants its countries.
    """
    region_ok = request.region is None or request.region in snapshot.regions
    if not region_ok:
        assert request.region is not None
        return f"the region {request.region}"
    if request.country is not None:
        country = request.country.split("-", 1)[0]
        if country not in snapshot.countries and request.region is None:
            return f"the country {request.country}"
    return None


_licenses = License.__table__.c
_products = Product.__table__.c
_partners = Partner.__table__.c
# One indexed read (the unique key hash), joined to the product's code and the firm's status
# by primary key. Core columns and the session's connection: the hot path builds no ORM
# objects, skips the ORM's statement handling, and reads no other domain's service.
_BY_KEY_HASH = (
    select(
        _licenses.id,
        _licenses.partner_id,
        _products.code,
        _licenses.status,
        _partners.status,
        _licenses.seats,
        _licenses.entitlements,
        _licenses.regions,
        _licenses.countries,
        _licenses.valid_from,
        _licenses.valid_until,
        _licenses.compliance,
        _licenses.grace_until,
    )
    .select_from(License.__table__)
    .join(Product.__table__, _products.id == _licenses.product_id)
    .join(Partner.__table__, _partners.id == _licenses.partner_id)
    .where(_licenses.key_hash == bindparam("key_hash"))
)


def load_snapshot(connection: Connection, key_hash: str) -> LicenseSnapshot | None:
    """The license whose key has the keyed hash ``key_hash``, as a snapshot; ``None`` if none."""
    row = connection.execute(_BY_KEY_HASH, {"key_hash": key_hash}).first()
    if row is None:
        return None
    (
        license_id,
        partner_id,
        product_code,
        status,
        partner_status,
        seats,
        entitlements,
        regions,
        countries,
        valid_from,
        valid_until,
        compliance,
        compliance_due,
    ) = row
    return LicenseSnapshot(
        license_id=license_id,
        partner_id=partner_id,
        product_code=product_code,
        status=LicenseStatus(status),
        partner_status=partner_status,
        seats=seats,
        entitlements=frozenset(entitlements),
        regions=frozenset(regions),
        countries=frozenset(countries),
        valid_from=valid_from,
        valid_until=valid_until,
        compliance=compliance,
        compliance_due=compliance_due,
    )
