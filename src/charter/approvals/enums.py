"""The states of an approval request."""

from __future__ import annotations

from enum import StrEnum


class ApprovalState(StrEnum):
    """Where a request stands.

    ``pending`` is the only open state; every other one is final. ``approved`` is final only
    for types with no applier (the decision is the whole outcome); a type with an applier goes
    on, in the same transaction, to ``applied`` or, when the applier refuses, to ``failed``.
    """

    PENDING = "pending"
    APPROVED = "approved"
    APPLIED = "applied"
    FAILED = "failed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN = frozenset({ApprovalState.PENDING})
