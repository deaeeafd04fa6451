"""Worker handlers for credentials: registered with :mod:`charter.worker.registry` on import.

Awards past their ``valid_until`` are stored as expired every quarter of an hour; the
``award.expired`` event that records it is what drives the holder's notice and the webhooks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.credentials.service import expire_due_awards
from charter.worker import registry

EXPIRY_EVERY = timedelta(minutes=15)


# The name is stored in every job's key (``periodic:credentials.expire_awards:<period>``), so
# it never changes, wherever the task is defined.
@registry.periodic("credentials.expire_awards", EXPIRY_EVERY)
def expire_awards(db: Session, actor: Principal, period_start: datetime) -> None:
    """Record the expiry of every award past its ``valid_until`` (its event drives the notices)."""
    expire_due_awards(db, actor, at=clock.now())
