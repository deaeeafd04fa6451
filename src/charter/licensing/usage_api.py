"""Usage metering over HTTP: batches of records in, monthly rollups out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.deps import CurrentPrincipal, DbSession, api_router, writing_caller
from charter.licensing import usage
from charter.licensing.usage_schemas import UsageBatch, UsageReceipt, UsageRollupOut
from charter.tiers.rules import Key

router = api_router()

LicenseId = Annotated[str, Path(min_length=1, max_length=40, description="A license id (lic_…)")]


@router.post("/usage", response_model=UsageReceipt, tags=["licensing"])
async def report_usage(body: UsageBatch, request: Request, db: DbSession) -> UsageReceipt:
    """Report up to 1,000 usage records, all stored or none; each is counted once however
    often it is sent (by ``record_id`` per license).

    Licensed software authenticates with its license ``key`` in the body (no API key needed);
    a partner's integration uses its API key and names each record's ``license_id``.
    """
    caller = None if body.key is not None else await writing_caller(request)
    return await run_in_threadpool(_report, db, caller, body)


def _report(db: Session, caller: Principal | None, body: UsageBatch) -> UsageReceipt:
    if caller is None:
        assert body.key is not None
        caller = usage.license_principal(db, body.key)
    receipt = usage.report_usage(db, caller, records=body.records)
    return UsageReceipt(
        received=receipt.received, accepted=receipt.accepted, duplicates=receipt.duplicates
    )


@router.get("/licenses/{license_id}/usage", response_model=list[UsageRollupOut], tags=["licensing"])
def list_usage(
    license_id: LicenseId,
    db: DbSession,
    actor: CurrentPrincipal,
    metric: Annotated[Key | None, Query()] = None,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> list[UsageRollupOut]:
    """A license's usage per metric per calendar month (UTC), oldest first; ``from`` and
    ``to`` bound the months (``to`` excluded). Partner users see their own firm's licenses."""
    rollups = usage.list_usage(
        db, actor, license_id=license_id, metric=metric, since=since, until=until
    )
    return [UsageRollupOut.model_validate(rollup) for rollup in rollups]
