"""The webhooks domain's named values: where a delivery stands.

Apart from the tables so that code that only reads a status needs no ORM.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"  # queued or waiting for its next retry
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # retries ran out (three days); replay it to try again
