"""Worker handlers for the keyring: registered with :mod:`charter.worker.registry` on import.

The events log's checkpoints are signed here rather than among the worker's own tasks: signing
takes the issuer's key, which the worker (below the keyring) does not reach. Retired token keys
past their window are dropped here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.crypto import checkpoints, keyring
from charter.db.engine import settings_of
from charter.worker import registry

CHECKPOINT_CHECK_EVERY = timedelta(minutes=5)
"""How often the worker asks whether a checkpoint is due (``CHARTER_AUDIT_CHECKPOINT_MINUTES``
says when one is)."""


# The name is stored in every job's key (``periodic:audit.checkpoint:<period>``): it never changes.
@registry.periodic("audit.checkpoint", CHECKPOINT_CHECK_EVERY)
def checkpoint_events_log(db: Session, actor: Principal, period_start: datetime) -> None:
    """Sign a checkpoint of the events log's head when the interval has passed and the log grew.

    Nothing is signed until the issuer has a key. A log that no longer verifies from the latest
    checkpoint fails the job (retried, then left dead with the reason for ``charter worker
    --status``): nothing is signed over it.
    """
    settings = settings_of(db)
    # The issuer's first key is made by whatever signs first (an issuance, the DID document,
    # `charter audit checkpoint`), not by a timer: its creation would be an event of its own.
    if settings.audit_checkpoint_minutes and not keyring.needs_new_key(db, settings):
        every = timedelta(minutes=settings.audit_checkpoint_minutes)
        checkpoints.checkpoint_if_due(db, actor, every=every)


TOKEN_KEYS_CHECK_EVERY = timedelta(hours=6)
"""How often the worker drops retired token keys whose tokens have all expired."""


# The name is stored in every job's key: it never changes.
@registry.periodic("keys.drop_expired_token_keys", TOKEN_KEYS_CHECK_EVERY)
def drop_expired_token_keys(db: Session, actor: Principal, period_start: datetime) -> None:
    """Delete the retired token keys no token of which can still be valid (no longer in the
    JWKS already: this only removes their sealed private halves and rows)."""
    keyring.drop_expired_token_keys(db, actor, settings_of(db))
