"""API shapes of tier schemes, firms' standing, track records, forecasts and terminations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from charter.core.schemas import ORMModel
from charter.core.text import ExternalId, Id, Name, Reason
from charter.tiers.models import DEFAULT_PROGRAM
from charter.tiers.rules import Benefits, Figure, Key, Metric, Tier

Program = Key
"""A program's name (``default``): written like a tier's key."""


class SchemeCreate(BaseModel):
    """A new version of a program's tiers, in force from ``effective_from`` (now by default)."""

    model_config = ConfigDict(extra="forbid")

    program: Program = DEFAULT_PROGRAM
    effective_from: AwareDatetime | None = None
    tiers: list[Tier] = Field(min_length=1, max_length=20)


class SchemeOut(ORMModel):
    """One published version of a program's tiers."""

    id: str
    program: str
    version: int
    effective_from: datetime
    tiers: list[Tier]
    created_at: datetime
    in_force: bool = False


class TrackRecordCreate(BaseModel):
    """A figure about a firm: successful deployments, customer satisfaction, ..."""

    model_config = ConfigDict(extra="forbid")

    partner_id: Id
    metric: Metric
    value: Figure
    recorded_at: AwareDatetime | None = None
    source: Name | None = None
    external_id: ExternalId | None = None


class TrackRecordOut(ORMModel):
    """A recorded figure."""

    id: str
    partner_id: str
    metric: str
    value: float
    recorded_at: datetime
    source: str | None
    external_id: str | None


class TierRef(BaseModel):
    """A tier named by key and name."""

    key: str
    name: str
    rank: int


class FirmTierOut(BaseModel):
    """A firm's standing in a program: what it holds, whether at risk, and what comes next."""

    partner_id: str
    program: str
    scheme_version: int | None
    tier: TierRef | None
    since: datetime | None
    at_risk: bool
    at_risk_since: datetime | None
    grace_until: datetime | None
    missing: list[str]
    qualified: TierRef | None
    next_tier: TierRef | None
    next_tier_missing: list[str]
    benefits: Benefits | None
    badge_id: str | None
    badge_url: str | None
    evaluated_at: datetime | None


class StandingOut(ORMModel):
    """A firm's stored standing in one program (for lists and dashboards)."""

    partner_id: str
    program: str
    tier: str | None
    since: datetime | None
    at_risk_since: datetime | None
    grace_until: datetime | None
    missing: list[str]
    badge_id: str | None
    scheme_version: int | None
    evaluated_at: datetime


class RenewalCandidate(BaseModel):
    """A person whose renewal would keep their firm's tier."""

    person_id: str
    name: str
    award_id: str
    certification_code: str
    track: str
    valid_until: datetime
    renewal_opens: datetime


class ForecastItem(BaseModel):
    """A firm that falls below its tier within the horizon unless people renew."""

    partner_id: str
    partner_name: str
    program: str
    tier: TierRef
    days: int
    falls_below_on: datetime
    missing: list[str]
    renewals: list[RenewalCandidate]


class TerminateIn(BaseModel):
    """Terminate a firm, saying why."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class TerminationReport(BaseModel):
    """What terminating a firm did: who keeps what, and what was revoked or disabled."""

    termination_id: str
    partner_id: str
    partner_name: str
    reason: str
    terminated_at: datetime
    licenses_wind_down: bool
    people: list[dict[str, Any]]
    firm_credentials_revoked: list[str]
    users_disabled: list[str]
    api_keys_revoked: list[str]
