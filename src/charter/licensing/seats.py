"""Giving seats back: the one place an activation leaves ``active`` and the change is recorded.

Below both :mod:`charter.licensing.service` (a license that ends frees its seats) and
:mod:`charter.licensing.activations` (deployments, staff and the reaper free one), so that
neither calls the other for it.

A license that ends for good or for its term (``revoked``, ``terminated``, ``expired``) gives
back every seat it holds at once, in the same transaction, each a ``license.deactivated``
event naming the license's new status: a seat of a license nobody may use is not a seat the
vendor still counts. A ``suspended`` license keeps its activations: suspension is the
reversible pause (reinstating lifts it), validation already refuses the license meanwhile, and
its deployments stay known, so a reinstated license works again without every machine
activating anew.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Principal
from charter.licensing.enums import ActivationState, LicenseStatus
from charter.licensing.models import License, LicenseActivation

ENDING_STATUSES = frozenset(
    {LicenseStatus.REVOKED, LicenseStatus.TERMINATED, LicenseStatus.EXPIRED}
)
"""License statuses that end the license's activations."""


def end(
    db: Session,
    actor: Principal,
    license: License,
    activations: list[LicenseActivation],
    state: ActivationState,
    *,
    reason: str,
) -> None:
    """Move ``activations`` of ``license`` out of ``active`` and record one event each:
    ``license.activation_reaped`` for reaped ones, ``license.deactivated`` otherwise."""
    if not activations:
        return
    now = clock.now()
    for activation in activations:
        activation.state = state.value
        activation.deactivated_at = now
        activation.ended_reason = reason
    db.flush()
    kind = "license.activation_reaped" if state is ActivationState.REAPED else "license.deactivated"
    events.append_many(
        db,
        actor,
        [
            events.Draft(
                kind,
                events.subject_type_of(activation),
                activation.id,
                {
                    "license_id": license.id,
                    "fingerprint": activation.fingerprint,
                    "kind": activation.kind,
                    "last_heartbeat_at": activation.last_heartbeat_at,
                    "reason": reason,
                },
                license.partner_id,
            )
            for activation in activations
        ],
    )


def release_all(
    db: Session, actor: Principal, license: License, status: LicenseStatus, *, reason: str
) -> int:
    """End every active activation of ``license``, which has just become ``status`` (one of
    :data:`ENDING_STATUSES`) for ``reason``; how many seats were freed. The caller holds the
    license's row lock, so no activation is added meanwhile."""
    held = db.scalars(
        select(LicenseActivation)
        .where(
            LicenseActivation.license_id == license.id,
            LicenseActivation.state == ActivationState.ACTIVE.value,
        )
        .order_by(LicenseActivation.id)
        .with_for_update()
    ).all()
    end(
        db,
        actor,
        license,
        list(held),
        ActivationState.DEACTIVATED,
        reason=f"the license was {status.value}: {reason}",
    )
    return len(held)
