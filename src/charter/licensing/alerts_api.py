"""License anomaly alerts over HTTP: listed and read by whoever reads licenses (partner users
their own firm's), acknowledged and resolved by license managers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict

from charter.core.schemas import Page
from charter.core.text import Note, Reason
from charter.deps import CurrentPrincipal, Cursor, DbSession, Limit, api_router
from charter.licensing import alerts
from charter.licensing.anomalies import Rule, Severity

router = api_router()

AlertId = Annotated[str, Path(min_length=1, max_length=40, description="An alert id (alr_…)")]
IdQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
StateQuery = Annotated[str | None, Query(pattern=r"^(open|acknowledged|resolved)$")]


class AlertOut(BaseModel):
    """An anomaly alert on a license."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    license_id: str
    partner_id: str
    rule: Rule
    severity: Severity
    evidence: dict[str, Any]
    state: str
    opened_at: datetime
    seen_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None


class Acknowledgement(BaseModel):
    """An optional remark on taking an alert up."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"note": "Looking into it with the partner's operations team"}]
        },
    )

    note: Note | None = None


class Resolution(BaseModel):
    """How an alert was settled."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"note": "The partner moved the staging servers to a licensed region"}]
        },
    )

    note: Reason


@router.get("/license-alerts", response_model=Page[AlertOut], tags=["licensing"])
def list_alerts(
    db: DbSession,
    actor: CurrentPrincipal,
    state: StateQuery = None,
    severity: Severity | None = None,
    rule: Rule | None = None,
    license_id: IdQuery = None,
    partner_id: IdQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AlertOut]:
    """Anomaly alerts, oldest first, filtered; partner users see their own firm's only."""
    page = alerts.list_alerts(
        db,
        actor,
        state=state,
        severity=severity.value if severity else None,
        rule=rule.value if rule else None,
        license_id=license_id,
        partner_id=partner_id,
        cursor=cursor,
        limit=limit,
    )
    return Page(
        items=[AlertOut.model_validate(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.get("/license-alerts/{alert_id}", response_model=AlertOut, tags=["licensing"])
def get_alert(alert_id: AlertId, db: DbSession, actor: CurrentPrincipal) -> AlertOut:
    """One anomaly alert."""
    return AlertOut.model_validate(alerts.get_alert(db, actor, alert_id=alert_id))


@router.post("/license-alerts/{alert_id}/acknowledge", response_model=AlertOut, tags=["licensing"])
def acknowledge_alert(
    alert_id: AlertId, db: DbSession, actor: CurrentPrincipal, body: Acknowledgement | None = None
) -> AlertOut:
    """Take an open alert up (license managers)."""
    note = body.note if body is not None else None
    return AlertOut.model_validate(
        alerts.acknowledge_alert(db, actor, alert_id=alert_id, note=note)
    )


@router.post("/license-alerts/{alert_id}/resolve", response_model=AlertOut, tags=["licensing"])
def resolve_alert(
    alert_id: AlertId, body: Resolution, db: DbSession, actor: CurrentPrincipal
) -> AlertOut:
    """Close an alert, saying how it was settled (license managers)."""
    return AlertOut.model_validate(
        alerts.resolve_alert(db, actor, alert_id=alert_id, note=body.note)
    )
