"""Activations over HTTP: licensed software activates, heartbeats and deactivates with its key;
staff and the firm's users see a license's activations, and managers free a seat.

``POST /api/v1/licenses/{activate,deactivate,heartbeat}`` are authenticated by the license key
in the body, not by a user: they are public paths (no sign-in session is read or written) and
the ``Idempotency-Key`` header does not apply to them; activating is idempotent by fingerprint
instead (see :mod:`charter.licensing.activations`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from charter.core.schemas import Page
from charter.core.text import Name, Reason
from charter.deps import CurrentPrincipal, Cursor, DbSession, Limit, api_router
from charter.licensing import activations, keyformat
from charter.licensing.enums import ActivationState, SeatModel
from charter.licensing.validation import ValidationCode, region_code
from charter.partners.taxonomy_schemas import RegionCode

router = api_router()

KEY_PATHS = (
    "/api/v1/licenses/activate",
    "/api/v1/licenses/deactivate",
    "/api/v1/licenses/heartbeat",
)
"""The routes a license key authenticates: public, with no sign-in session."""

LicenseId = Annotated[str, Path(min_length=1, max_length=40, description="A license id (lic_…)")]
ActivationId = Annotated[
    str, Path(min_length=1, max_length=40, description="An activation id (act_…)")
]

LicenseKey = Annotated[
    str, Field(min_length=1, max_length=100), AfterValidator(keyformat.normalize)
]
Fingerprint = Annotated[
    str,
    Field(min_length=1, max_length=200, examples=["4f1c2a9e7b3d4c5e8f60718293a4b5c6"]),
    AfterValidator(activations.normalize_fingerprint),
]
Place = Annotated[
    str,
    Field(min_length=2, max_length=6, examples=["DE", "UA-43"]),
    AfterValidator(region_code),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActivationRequest(_Input):
    """A deployment activating itself: the machine's fingerprint, where it runs, for whom."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "CHL-0ABCD-EFGH1-JKMNP-QRSTV-S",
                    "fingerprint": "4f1c2a9e7b3d4c5e8f60718293a4b5c6",
                    "region": "emea",
                    "country": "DE",
                    "customer_name": "Fabrikam GmbH",
                }
            ]
        }
    )

    key: LicenseKey
    fingerprint: Fingerprint
    region: RegionCode
    country: Place | None = Field(
        default=None, description="ISO 3166-1 alpha-2 country or ISO 3166-2 subdivision"
    )
    customer_name: Name
    justification: Reason | None = Field(
        default=None,
        description="Why the deployment must run here, for the governance owner who decides"
        " when the place is outside the license's territory",
    )


class ActivationHeld(BaseModel):
    """A deployment outside the license's territory: no seat is taken; it may activate once
    the approval request to extend the territory is approved."""

    code: ValidationCode
    detail: str
    license_id: str
    approval_id: str


class KeyedFingerprint(_Input):
    """A deployment known by its license key and fingerprint."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "CHL-0ABCD-EFGH1-JKMNP-QRSTV-S",
                    "fingerprint": "4f1c2a9e7b3d4c5e8f60718293a4b5c6",
                }
            ]
        }
    )

    key: LicenseKey
    fingerprint: Fingerprint


class StaffDeactivation(_Input):
    """Why staff free a deployment's seat."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "The customer decommissioned the server"}]}
    )

    reason: Reason


class ActivationOut(BaseModel):
    """An activation; ``heartbeat_deadline`` is when an active floating seat dies without a
    heartbeat (``null`` for node-locked seats, which are never reaped)."""

    id: str
    license_id: str
    fingerprint: str
    region: RegionCode
    country: str | None
    customer_name: str
    kind: SeatModel
    state: ActivationState
    activated_at: datetime
    last_heartbeat_at: datetime
    deactivated_at: datetime | None
    ended_reason: str | None
    heartbeat_interval_seconds: int
    heartbeat_deadline: datetime | None


def _out(db: Any, activation: Any) -> ActivationOut:
    return ActivationOut.model_validate(activations.describe(db, activation))


@router.post(
    "/licenses/activate",
    status_code=201,
    response_model=ActivationOut,
    responses={202: {"model": ActivationHeld, "description": "Held for approval, no seat"}},
    tags=["activations"],
)
def activate(
    body: ActivationRequest, db: DbSession, response: Response
) -> ActivationOut | JSONResponse:
    """Activate a deployment with the license key: 201 with a new activation, 200 with the
    existing one when the fingerprint holds a seat already. 202 ``PENDING_APPROVAL`` with the
    approval request when the place is outside the license's territory (no seat is taken);
    409 ``EMBARGOED_REGION`` in an embargoed country or subdivision. 409
    ``TOO_MANY_ACTIVATIONS`` when every seat is held; 409 with the license's or firm's status
    when it may not be used."""
    outcome = activations.activate(
        db,
        key=body.key,
        fingerprint=body.fingerprint,
        region=body.region,
        country=body.country,
        customer_name=body.customer_name,
        justification=body.justification,
    )
    if isinstance(outcome, activations.HeldForApproval):
        held = ActivationHeld(
            code=ValidationCode.PENDING_APPROVAL,
            detail=outcome.detail,
            license_id=outcome.license_id,
            approval_id=outcome.approval_id,
        )
        return JSONResponse(held.model_dump(mode="json"), status_code=202)
    activation, created = outcome
    if not created:
        response.status_code = 200
    return _out(db, activation)


@router.post("/licenses/deactivate", response_model=ActivationOut, tags=["activations"])
def deactivate(body: KeyedFingerprint, db: DbSession) -> ActivationOut:
    """Release the deployment's seat (404 ``NOT_ACTIVATED`` when it holds none)."""
    return _out(db, activations.deactivate(db, key=body.key, fingerprint=body.fingerprint))


@router.post("/licenses/heartbeat", response_model=ActivationOut, tags=["activations"])
def heartbeat(body: KeyedFingerprint, db: DbSession) -> ActivationOut:
    """Keep the deployment's seat; the answer carries the next deadline. 409
    ``HEARTBEAT_DEAD`` when the seat was freed for lack of heartbeats: activate again."""
    return _out(db, activations.heartbeat(db, key=body.key, fingerprint=body.fingerprint))


@router.get(
    "/licenses/{license_id}/activations",
    response_model=Page[ActivationOut],
    tags=["activations"],
)
def list_activations(
    license_id: LicenseId,
    db: DbSession,
    actor: CurrentPrincipal,
    state: ActivationState | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ActivationOut]:
    """A license's activations, oldest first; partner users see their own firm's only."""
    page = activations.list_activations(
        db, actor, license_id=license_id, state=state, cursor=cursor, limit=limit
    )
    return Page(items=[_out(db, item) for item in page.items], next_cursor=page.next_cursor)


@router.post(
    "/licenses/{license_id}/activations/{activation_id}/deactivate",
    response_model=ActivationOut,
    tags=["activations"],
)
def deactivate_by_staff(
    license_id: LicenseId,
    activation_id: ActivationId,
    body: StaffDeactivation,
    db: DbSession,
    actor: CurrentPrincipal,
) -> ActivationOut:
    """Free the seat an activation holds (license managers)."""
    activation = activations.deactivate_by_staff(
        db, actor, license_id=license_id, activation_id=activation_id, reason=body.reason
    )
    return _out(db, activation)
