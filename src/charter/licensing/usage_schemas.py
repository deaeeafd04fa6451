"""API shapes of usage metering: a batch of records in, what was counted out, rollups."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from charter.core.text import Id
from charter.licensing.metering import MAX_BATCH, Quantity, RecordId
from charter.tiers.rules import Key


class UsageRecordIn(BaseModel):
    """One record of use: how much of a metric a license used, when, under the reporter's own
    id (the same id for the same license is counted once, however often it is sent)."""

    model_config = ConfigDict(extra="forbid")

    # Licensed software reporting with its key leaves it out: the key names the license.
    license_id: Id | None = None
    metric: Key
    quantity: Quantity
    occurred_at: AwareDatetime
    record_id: RecordId


class UsageBatch(BaseModel):
    """Up to 1,000 records, all stored or none. Licensed software authenticates with its
    license ``key`` here; an API key or a signed-in user names each record's ``license_id``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "key": "CHL-0ABCD-EFGH1-JKMNP-QRSTV-S",
                    "records": [
                        {
                            "metric": "api_calls",
                            "quantity": 1200,
                            "occurred_at": "2026-03-02T10:00:00Z",
                            "record_id": "node-7:2026-03-02T10",
                        }
                    ],
                }
            ]
        },
    )

    key: str | None = Field(default=None, min_length=1, max_length=100)
    records: list[UsageRecordIn] = Field(min_length=1, max_length=MAX_BATCH)


class UsageReceipt(BaseModel):
    """What a batch did: records new to the store, and those counted before (sent again)."""

    received: int
    accepted: int
    duplicates: int


class UsageRollupOut(BaseModel):
    """A license's total of one metric in one calendar month (``period``: its start, UTC)."""

    model_config = ConfigDict(from_attributes=True)

    license_id: str
    metric: str
    period: datetime
    total: int
