"""Activations: the deployments of licensed software that hold a license's seats.

Licensed software activates itself with its license key and a machine ``fingerprint``
(:func:`activate`), heartbeats while it runs (:func:`heartbeat`) and deactivates when it is
uninstalled (:func:`deactivate`). The key is the credential: these calls carry no user.

- **Seats.** A license holds at most ``seats`` active activations. The count and the insert
  happen under the license row's lock (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite every
  writing transaction begins ``IMMEDIATE`` and holds the database's one write lock), so the
  limit holds exactly under concurrent requests: the request past the last seat is refused
  with ``TOO_MANY_ACTIVATIONS``.
- **Idempotent by fingerprint.** At most one activation per license and fingerprint is active;
  activating an active fingerprint again returns that activation (and counts as a heartbeat)
  and takes no other seat. Requests authenticated by a license key have no principal, so the
  ``Idempotency-Key`` header does not apply to them: the fingerprint is their idempotency key.
- **Seat models.** A license's ``seat_model`` is copied to each activation's ``kind``. A
  node-locked seat stays with its machine until deactivated. A floating seat is a lease: once
  its last heartbeat is older than ``license_heartbeat_interval_seconds`` times
  ``license_heartbeat_grace`` it is dead; the worker reaps it (:func:`reap_dead_activations`,
  state ``reaped``, event ``license.activation_reaped``), freeing the seat, and its next
  heartbeat is answered ``HEARTBEAT_DEAD``: the deployment must activate again. An activation
  of the same license also reaps that license's dead floating seats before counting.
- **Events.** Activation, deactivation and reaping are events (``license.activated``,
  ``license.deactivated``, ``license.activation_reaped``); a heartbeat only moves
  ``last_heartbeat_at``, so the hash-chained log does not grow with every ping. A license that
  is revoked, terminated or recorded as expired frees all its seats at once, one
  ``license.deactivated`` each (:mod:`charter.licensing.seats`); a suspended one keeps them.

- **Portability.** In an embargoed country or subdivision (``license_embargoed_regions``) an
  activation is refused at once (``EMBARGOED_REGION``), whatever the license covers. Elsewhere
  outside the license's territory it takes no seat and is held for approval
  (:class:`HeldForApproval`, :mod:`charter.licensing.portability`).

Refusals are problem details with a ``code`` extension: ``NOT_FOUND`` (404, no license has the
key), ``NOT_ACTIVATED`` (404), ``EMBARGOED_REGION``, ``REGION_NOT_PERMITTED`` (a place whose
extension was rejected), ``TERRITORY_REQUEST_PENDING`` (another place's request is pending),
``TOO_MANY_ACTIVATIONS``, ``HEARTBEAT_DEAD``, ``SUSPENDED``, ``EXPIRED``, ``REVOKED``,
``TERMINATED``, ``PARTNER_SUSPENDED``, ``PARTNER_TERMINATED`` (409).
A malformed key or fingerprint is a 422 naming the field, before anything is read.

For license validation, :func:`activation_status` tells whether a fingerprint holds a seat of
a license: ``"active"``, ``"not_activated"`` (never, or deactivated) or ``"dead"`` (a floating
seat whose heartbeats stopped, reaped or not yet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate
from charter.db.engine import settings_of
from charter.licensing import keyformat, keystore, portability, seats, service, validation
from charter.licensing.enums import ActivationState, LicenseStatus, SeatModel
from charter.licensing.models import License, LicenseActivation
from charter.partners import taxonomy
from charter.partners.enums import PartnerStatus, TaxonomyKind
from charter.partners.models import Partner

FINGERPRINT_MIN = 8
FINGERPRINT_MAX = 128
_FINGERPRINT = re.compile(r"[a-z0-9][a-z0-9._:-]*")

LICENSED_SOFTWARE = Principal.system("licensed-software")
"""The actor of the events a license key's holder causes (no user is behind it)."""

ActivationStatus = Literal["active", "not_activated", "dead"]


def normalize_fingerprint(text: str) -> str:
    """A fingerprint as stored: trimmed and lower-cased (a hex digest or a UUID in either case
    is the same machine); 8-128 characters of ``a-z 0-9 . _ : -``, starting with a letter or
    digit. :class:`ValueError` saying what is wrong otherwise."""
    value = text.strip().lower()
    if not FINGERPRINT_MIN <= len(value) <= FINGERPRINT_MAX:
        raise ValueError(
            f"a fingerprint has {FINGERPRINT_MIN} to {FINGERPRINT_MAX} characters, not {len(value)}"
        )
    if not _FINGERPRINT.fullmatch(value):
        raise ValueError(
            "a fingerprint holds letters, digits and . _ : - only, starting with a letter or digit"
        )
    return value


def _fingerprint(text: str) -> str:
    try:
        return normalize_fingerprint(text)
    except ValueError as error:
        raise Invalid.field("fingerprint", str(error)) from None


def heartbeat_interval(db: Session) -> timedelta:
    """How often a deployment is asked to heartbeat."""
    return timedelta(seconds=settings_of(db).license_heartbeat_interval_seconds)


def heartbeat_window(db: Session) -> timedelta:
    """How long after its last heartbeat a floating seat is still alive."""
    settings = settings_of(db)
    return timedelta(
        seconds=settings.license_heartbeat_interval_seconds * settings.license_heartbeat_grace
    )


def deadline_of(activation: LicenseActivation, window: timedelta) -> datetime | None:
    """When a floating activation dies without a heartbeat; ``None`` for node-locked ones."""
    if activation.kind != SeatModel.FLOATING.value:
        return None
    return activation.last_heartbeat_at + window


def _is_dead(activation: LicenseActivation, window: timedelta, now: datetime) -> bool:
    if activation.state == ActivationState.REAPED.value:
        return True
    deadline = deadline_of(activation, window)
    return (
        activation.state == ActivationState.ACTIVE.value
        and deadline is not None
        and deadline <= now
    )


def _license_by_key(db: Session, key: str, *, lock: bool = False) -> License:
    try:
        canonical = keyformat.normalize(key)
    except keyformat.MalformedKey as error:
        raise Invalid.field("key", str(error)) from None
    query = select(License).where(
        License.key_hash == keystore.lookup_hash(settings_of(db), canonical)
    )
    if lock:
        query = query.with_for_update()
    found = db.scalar(query)
    if found is None:
        raise NotFound("no license has this key", code="NOT_FOUND")
    return found


def _require_usable(db: Session, license: License) -> None:
    """Refuse a license that is not active, or whose firm is suspended or terminated."""
    status = service.status_of(license)
    if status is not LicenseStatus.ACTIVE:
        raise Conflict(f"the license is {status.value}", code=status.value.upper())
    partner = db.get(Partner, license.partner_id)
    assert partner is not None  # a foreign key
    if partner.status in {PartnerStatus.SUSPENDED.value, PartnerStatus.TERMINATED.value}:
        raise Conflict(
            f"the licensed firm is {partner.status}", code=f"PARTNER_{partner.status.upper()}"
        )


def _within_territory(license: License, region: str, country: str | None) -> bool:
    # A subdivision is covered when its country is.
    nation = None if country is None else country.split("-", 1)[0]
    return region in license.regions or (nation is not None and nation in license.countries)


def _not_embargoed(db: Session, country: str | None) -> None:
    embargo = frozenset(settings_of(db).license_embargoed_regions)
    if country is not None and validation.embargoed(country, embargo):
        raise Conflict(
            f"{country} is under embargo: no license may be used there", code="EMBARGOED_REGION"
        )


@dataclass(frozen=True, slots=True)
class HeldForApproval:
    """An activation outside the license's territory: no seat, a request awaiting approval."""

    license_id: str
    approval_id: str
    detail: str


def _active(db: Session, license_id: str, fingerprint: str) -> LicenseActivation | None:
    return db.scalar(
        select(LicenseActivation).where(
            LicenseActivation.license_id == license_id,
            LicenseActivation.fingerprint == fingerprint,
            LicenseActivation.state == ActivationState.ACTIVE.value,
        )
    )


def _latest(db: Session, license_id: str, fingerprint: str) -> LicenseActivation | None:
    return db.scalar(
        select(LicenseActivation)
        .where(
            LicenseActivation.license_id == license_id,
            LicenseActivation.fingerprint == fingerprint,
        )
        .order_by(LicenseActivation.activated_at.desc(), LicenseActivation.id.desc())
        .limit(1)
    )


def _reap_license(db: Session, license: License, window: timedelta, now: datetime) -> None:
    """Reap the dead floating seats of one (locked) license."""
    dead = db.scalars(
        select(LicenseActivation)
        .where(
            LicenseActivation.license_id == license.id,
            LicenseActivation.state == ActivationState.ACTIVE.value,
            LicenseActivation.kind == SeatModel.FLOATING.value,
            LicenseActivation.last_heartbeat_at <= now - window,
        )
        .order_by(LicenseActivation.id)
    ).all()
    seats.end(db, LICENSED_SOFTWARE, license, list(dead), ActivationState.REAPED, reason=_STOPPED)


_STOPPED = "its heartbeats stopped"


def _require_open(license: License) -> None:
    """Refuse a new seat on a license that takes none (see :mod:`charter.licensing.compliance`).

    A terminated firm's licenses take no new activation from the moment of termination
    (``TERMINATED``), though their deployments keep their seats until the wind-down ends; a
    license whose firm no longer meets its agreement past the grace period has lapsed
    (``CERTIFICATION_REQUIRED``). A deployment already active keeps its seat in both.
    """
    if license.activations_closed_at is not None:
        raise Conflict(
            "the license takes no new activation: its firm's agreement is winding down",
            code="TERMINATED",
        )
    if license.compliance == "lapsed":
        missing = "; ".join(str(item) for item in license.compliance_missing or [])
        raise Conflict(
            "the firm no longer meets its agreement's requirements"
            f" ({missing or 'see the agreement'})",
            code="CERTIFICATION_REQUIRED",
        )


def activate(
    db: Session,
    *,
    key: str,
    fingerprint: str,
    region: str,
    customer_name: str,
    country: str | None = None,
    justification: str | None = None,
) -> tuple[LicenseActivation, bool] | HeldForApproval:
    """Activate a deployment on the license ``key`` opens; returns the activation and whether
    it is new (``False``: the fingerprint was active already, and its heartbeat is renewed).

    Refused with ``EMBARGOED_REGION`` in an embargoed country or subdivision, with
    ``TOO_MANY_ACTIVATIONS`` when every seat is held, and with the license's or the firm's
    status when the license may not be used. Outside the license's territory no seat is
    taken: the deployment is held for approval (:mod:`charter.licensing.portability`), asked
    with ``justification`` (default: a sentence naming the customer and the place).
    """
    fingerprint = _fingerprint(fingerprint)
    # A region the program never had is a mistake to name, not a place to ask approval for.
    taxonomy.require_known(db, TaxonomyKind.REGION, "region", region)
    license = _license_by_key(db, key, lock=True)
    _not_embargoed(db, country)
    _require_usable(db, license)
    if not _within_territory(license, region, country):
        _require_open(license)
        request = portability.hold(
            db,
            LICENSED_SOFTWARE,
            license,
            region=region,
            country=country,
            customer_name=customer_name,
            justification=justification,
        )
        place = region if country is None else f"{region} ({country})"
        return HeldForApproval(
            license.id,
            request.id,
            f"{place} is outside the license's territory: request {request.id} to extend it"
            " awaits a governance owner",
        )
    now = clock.now()
    window = heartbeat_window(db)
    existing = _active(db, license.id, fingerprint)
    if existing is not None and not _is_dead(existing, window, now):
        existing.last_heartbeat_at = now
        db.flush()
        return existing, False
    _require_open(license)
    _reap_license(db, license, window, now)
    held = db.scalar(
        select(func.count())
        .select_from(LicenseActivation)
        .where(
            LicenseActivation.license_id == license.id,
            LicenseActivation.state == ActivationState.ACTIVE.value,
        )
    )
    if (held or 0) >= license.seats:
        raise Conflict(
            f"all {license.seats} seats of the license are in use: deactivate a deployment first",
            code="TOO_MANY_ACTIVATIONS",
        )
    activation = LicenseActivation(
        id=new_id("act"),
        license_id=license.id,
        fingerprint=fingerprint,
        region=region,
        country=country,
        customer_name=customer_name,
        kind=license.seat_model,
        state=ActivationState.ACTIVE.value,
        activated_at=now,
        last_heartbeat_at=now,
        deactivated_at=None,
        ended_reason=None,
    )
    db.add(activation)
    db.flush()
    events.append(
        db,
        LICENSED_SOFTWARE,
        "license.activated",
        activation,
        partner_id=license.partner_id,
        license_id=license.id,
        fingerprint=fingerprint,
        kind=activation.kind,
        region=region,
        country=country,
        customer_name=customer_name,
        seats=license.seats,
        seats_held=(held or 0) + 1,
    )
    return activation, True


def deactivate(db: Session, *, key: str, fingerprint: str) -> LicenseActivation:
    """Release the seat the fingerprint holds on the license ``key`` opens (whatever the
    license's status: a suspended license's deployments may still be uninstalled)."""
    fingerprint = _fingerprint(fingerprint)
    license = _license_by_key(db, key, lock=True)
    activation = _active(db, license.id, fingerprint)
    if activation is None:
        raise NotFound("this fingerprint holds no seat of the license", code="NOT_ACTIVATED")
    seats.end(
        db,
        LICENSED_SOFTWARE,
        license,
        [activation],
        ActivationState.DEACTIVATED,
        reason="deactivated by the deployment",
    )
    return activation


def heartbeat(db: Session, *, key: str, fingerprint: str) -> LicenseActivation:
    """Renew a deployment's activation; only ``last_heartbeat_at`` changes (no event).

    ``HEARTBEAT_DEAD`` when the floating seat's deadline passed (reaped or not yet): the
    deployment must activate again. ``NOT_ACTIVATED`` when the fingerprint holds no seat.
    """
    fingerprint = _fingerprint(fingerprint)
    license = _license_by_key(db, key)
    _require_usable(db, license)
    now = clock.now()
    window = heartbeat_window(db)
    activation = _latest(db, license.id, fingerprint)
    if activation is None or activation.state == ActivationState.DEACTIVATED.value:
        raise NotFound("this fingerprint holds no seat of the license", code="NOT_ACTIVATED")
    if _is_dead(activation, window, now):
        raise Conflict(
            "the activation's heartbeats stopped and its seat was freed: activate again",
            code="HEARTBEAT_DEAD",
        )
    activation.last_heartbeat_at = now
    db.flush()
    return activation


def activation_status(db: Session, license_id: str, fingerprint: str) -> ActivationStatus:
    """Whether ``fingerprint`` holds a seat of the license ``license_id`` now.

    ``"active"``; ``"dead"`` for a floating seat whose heartbeat deadline passed (reaped or
    not yet); ``"not_activated"`` when it never held one or was deactivated. :class:`Invalid`
    naming ``fingerprint`` when it is malformed. Reads only.
    """
    activation = _latest(db, license_id, _fingerprint(fingerprint))
    if activation is None or activation.state == ActivationState.DEACTIVATED.value:
        return "not_activated"
    if _is_dead(activation, heartbeat_window(db), clock.now()):
        return "dead"
    return "active"


def active_machines(db: Session, license_id: str) -> int:
    """How many deployments hold a seat of the license ``license_id`` now."""
    return (
        db.scalar(
            select(func.count())
            .select_from(LicenseActivation)
            .where(
                LicenseActivation.license_id == license_id,
                LicenseActivation.state == ActivationState.ACTIVE.value,
            )
        )
        or 0
    )


def reap_dead_activations(db: Session, actor: Principal, *, at: datetime | None = None) -> int:
    """Reap every floating activation whose heartbeat deadline has passed; how many.

    Node-locked activations are never reaped. Each reaping frees a seat and is recorded as
    ``license.activation_reaped``.
    """
    actor.require(Permission.LICENSES_MANAGE)
    now = at or clock.now()
    window = heartbeat_window(db)
    due = db.scalars(
        select(LicenseActivation)
        .where(
            LicenseActivation.state == ActivationState.ACTIVE.value,
            LicenseActivation.kind == SeatModel.FLOATING.value,
            LicenseActivation.last_heartbeat_at <= now - window,
        )
        .order_by(LicenseActivation.license_id, LicenseActivation.id)
        .with_for_update()
    ).all()
    by_license: dict[str, list[LicenseActivation]] = {}
    for activation in due:
        by_license.setdefault(activation.license_id, []).append(activation)
    for license_id, activations in by_license.items():
        license = db.get(License, license_id)
        assert license is not None  # a foreign key
        seats.end(db, actor, license, activations, ActivationState.REAPED, reason=_STOPPED)
    return len(due)


def list_activations(
    db: Session,
    actor: Principal,
    *,
    license_id: str,
    state: ActivationState | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[LicenseActivation]:
    """A license's activations, oldest first; partner users see their own firm's only."""
    license = service.get_license(db, actor, license_id=license_id)
    check_cursor(cursor)
    query = select(LicenseActivation).where(LicenseActivation.license_id == license.id)
    if state is not None:
        query = query.where(LicenseActivation.state == state.value)
    return paginate(db, query, LicenseActivation.id, cursor=cursor, limit=limit)


def deactivate_by_staff(
    db: Session,
    actor: Principal,
    *,
    activation_id: str,
    reason: str,
    license_id: str | None = None,
) -> LicenseActivation:
    """Free the seat an activation holds, for the vendor's license managers; ``license_id``,
    when given, is the license the activation must belong to (the API's path names both)."""
    actor.require(Permission.LICENSES_MANAGE)
    if license_id is None:
        owner = None
        if is_id(activation_id, "act"):
            owner = db.scalar(
                select(LicenseActivation.license_id).where(LicenseActivation.id == activation_id)
            )
        if owner is None or (
            actor.partner_scope is not None
            and db.scalar(select(License.partner_id).where(License.id == owner))
            != actor.partner_scope
        ):
            # Another firm's activation is as unknown as one that does not exist.
            raise NotFound(f"activation {activation_id} not found")
        license_id = owner
    license = service.get_license(db, actor, license_id=license_id)
    activation = None
    if is_id(activation_id, "act"):
        activation = db.scalar(
            select(LicenseActivation)
            .where(
                LicenseActivation.id == activation_id,
                LicenseActivation.license_id == license.id,
            )
            .with_for_update()
        )
    if activation is None:
        raise NotFound(f"activation {activation_id} not found")
    if activation.state != ActivationState.ACTIVE.value:
        raise Conflict(f"activation {activation_id} is {activation.state} already")
    seats.end(db, actor, license, [activation], ActivationState.DEACTIVATED, reason=reason)
    return activation


def describe(db: Session, activation: LicenseActivation) -> dict[str, Any]:
    """An activation with its heartbeat interval and deadline, for the API."""
    window = heartbeat_window(db)
    deadline = deadline_of(activation, window)
    return {
        "id": activation.id,
        "license_id": activation.license_id,
        "fingerprint": activation.fingerprint,
        "region": activation.region,
        "country": activation.country,
        "customer_name": activation.customer_name,
        "kind": activation.kind,
        "state": activation.state,
        "activated_at": activation.activated_at,
        "last_heartbeat_at": activation.last_heartbeat_at,
        "deactivated_at": activation.deactivated_at,
        "ended_reason": activation.ended_reason,
        "heartbeat_interval_seconds": int(heartbeat_interval(db).total_seconds()),
        "heartbeat_deadline": deadline if activation.state == "active" else None,
    }
