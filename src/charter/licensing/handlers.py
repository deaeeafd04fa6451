"""Worker handlers for licensing: registered with :mod:`charter.worker.registry` on import.

Licenses past their term read as expired at once; the hourly task records the change as a
``license.expired`` event, which webhooks and notices follow.

Floating seats whose heartbeats stopped are reaped every two minutes (``licensing.reap``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.licensing import activations, service
from charter.worker import registry


@registry.periodic("licensing.expire", timedelta(hours=1))
def expire_licenses(db: Session, actor: Principal, period_start: datetime) -> None:
    """Record the expiry of every active license whose term has ended."""
    service.expire_due_licenses(db, actor)


@registry.periodic("licensing.reap", timedelta(minutes=2))
def reap_activations(db: Session, actor: Principal, period_start: datetime) -> None:
    """Free the floating seats whose heartbeat deadline has passed."""
    activations.reap_dead_activations(db, actor)
