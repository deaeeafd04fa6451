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

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "program": "default",
                    "tiers": [
                        {
                            "key": "authorized",
                            "name": "Authorized",
                            "rank": 1,
                            "requirements": {
                                "min_certified_by_track": {"sales": 1},
                                "onboarding_complete": True,
                            },
                            "benefits": {"discount_percent": 10},
                            "grace_days": 30,
                        },
                        {
                            "key": "gold",
                            "name": "Gold",
                            "rank": 2,
                            "requirements": {
                                "min_certified_by_track": {"sales": 2, "technical": 2},
                                "required_certifications": ["ADM-201"],
                                "good_standing": True,
                                "min_track_record": {"deployments": 5},
                            },
                            "benefits": {
                                "entitlements": ["demo-licenses"],
                                "discount_percent": 25,
                                "support_level": "priority",
                            },
                            "grace_days": 60,
                        },
                    ],
                }
            ]
        },
    )

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

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "partner_id": "prt_01HZX5D1P9KE",
                    "metric": "deployments",
                    "value": 7,
                    "recorded_at": "2026-03-31T00:00:00Z",
                    "source": "CRM",
                    "external_id": "crm-q1-7",
                }
            ]
        },
    )

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

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Breach of the code of conduct"}]},
    )

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
