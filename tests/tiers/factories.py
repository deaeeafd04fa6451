"""Tier schemes for tests, published through the tiers schemes service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.tiers import schemes
from charter.tiers.models import TierScheme
from charter.tiers.schemas import SchemeCreate


def registered(**overrides: Any) -> dict[str, Any]:
    """The entry tier: a firm in good standing."""
    tier: dict[str, Any] = {
        "key": "registered",
        "name": "Registered",
        "rank": 1,
        "requirements": {"good_standing": True},
        "benefits": {"entitlements": ["portal"], "discount_percent": 5},
        "grace_days": 0,
    }
    tier.update(overrides)
    return tier


def gold(technical: int = 2, grace_days: int = 30, **overrides: Any) -> dict[str, Any]:
    """A tier needing ``technical`` technically certified people, with a grace period."""
    tier: dict[str, Any] = {
        "key": "gold",
        "name": "Gold",
        "rank": 2,
        "requirements": {
            "good_standing": True,
            "onboarding_complete": True,
            "min_certified_by_track": {"technical": technical},
        },
        "benefits": {
            "entitlements": ["nfr-licenses", "deal-registration"],
            "discount_percent": 20,
            "support_level": "premium",
        },
        "grace_days": grace_days,
    }
    tier.update(overrides)
    return tier


def scheme(
    db: Session,
    actor: Principal,
    tiers: list[dict[str, Any]] | None = None,
    *,
    program: str = "default",
    effective_from: datetime | None = None,
) -> TierScheme:
    """Publish a scheme (Registered and Gold by default)."""
    data = SchemeCreate.model_validate(
        {
            "program": program,
            "tiers": tiers if tiers is not None else [registered(), gold()],
            "effective_from": effective_from,
        }
    )
    return schemes.publish_scheme(db, actor, data=data)
