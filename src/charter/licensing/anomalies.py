"""Anomaly rules over a license's validations, activations and usage: pure functions.

Each rule takes small values gathered by :mod:`charter.licensing.alerts` (no session, no
clock: the time is an argument) and returns a :class:`Finding` (severity and evidence) or
``None``. The thresholds are :class:`Thresholds`, read from the settings.

- **sharing**: more distinct machine fingerprints or client addresses used one license
  within the window than a multiple of its seats: one key copied to many places.
- **activation burst**: more activations of a license within a short window than a
  multiple of its seats: seats cycled to serve more machines than bought.
- **out of territory**: validations or activations from regions or countries the license
  does not cover.
- **usage spike**: the latest period's usage above the median plus ``k`` times the median
  absolute deviation of the license's own history (robust to the odd outlier, unlike a mean
  and standard deviation, and scaled to each license, unlike a fixed cap).
- **use after revocation**: validations of a revoked or terminated license after it was
  revoked.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Rule(StrEnum):
    """The anomaly rules; an alert names the one that opened it."""

    SHARING = "sharing"
    ACTIVATION_BURST = "activation_burst"
    OUT_OF_TERRITORY = "out_of_territory"
    USAGE_SPIKE = "usage_spike"
    USE_AFTER_REVOCATION = "use_after_revocation"


class Severity(StrEnum):
    """How urgent an alert is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule found: its severity and the evidence a person checks it by."""

    rule: Rule
    severity: Severity
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The rules' limits (settings ``license_alert_*``)."""

    sharing_multiple: float = 2.0
    sharing_minimum: int = 3
    burst_multiple: float = 1.0
    burst_minimum: int = 3
    spike_k: float = 5.0
    spike_min_history: int = 6


@dataclass(frozen=True, slots=True)
class Check:
    """One recorded validation of a license."""

    address: str
    fingerprint: str | None
    region: str | None
    country: str | None
    code: str
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class Place:
    """Where a license was used: a sales region and an ISO 3166 country (either may be unknown)."""

    region: str | None
    country: str | None


SAMPLE = 10
"""How many examples an alert's evidence lists at most."""

OUTSIDE_CODES = frozenset({"REGION_NOT_PERMITTED", "PENDING_APPROVAL", "EMBARGOED_REGION"})
"""Validation codes that say the place asked about is outside the license's territory."""

OUTSIDE_REPEATED = 3
"""Refused validations from outside the territory that make the alert medium, not low."""


def _limit(seats: int, multiple: float, minimum: int) -> int:
    return max(minimum, math.floor(max(seats, 1) * multiple))


def sharing(
    *, seats: int, fingerprints: Iterable[str], addresses: Iterable[str], thresholds: Thresholds
) -> Finding | None:
    """Key sharing: more distinct fingerprints or addresses than ``seats x multiple``."""
    machines = sorted(set(fingerprints))
    places = sorted(set(addresses))
    limit = _limit(seats, thresholds.sharing_multiple, thresholds.sharing_minimum)
    worst = max(len(machines), len(places))
    if worst <= limit:
        return None
    severity = Severity.HIGH if worst > 2 * limit else Severity.MEDIUM
    return Finding(
        Rule.SHARING,
        severity,
        {
            "seats": seats,
            "limit": limit,
            "distinct_fingerprints": len(machines),
            "distinct_addresses": len(places),
            "fingerprints": machines[:SAMPLE],
            "addresses": places[:SAMPLE],
        },
    )


def activation_burst(
    *, seats: int, activated_at: Sequence[datetime], thresholds: Thresholds
) -> Finding | None:
    """An activation burst: more activations in the window than ``seats x multiple``."""
    limit = _limit(seats, thresholds.burst_multiple, thresholds.burst_minimum)
    count = len(activated_at)
    if count <= limit:
        return None
    severity = Severity.HIGH if count > 2 * limit else Severity.MEDIUM
    ordered = sorted(activated_at)
    return Finding(
        Rule.ACTIVATION_BURST,
        severity,
        {
            "seats": seats,
            "limit": limit,
            "activations": count,
            "first_at": ordered[0].isoformat(),
            "last_at": ordered[-1].isoformat(),
        },
    )


def covered(place: Place, *, regions: frozenset[str], countries: frozenset[str]) -> bool:
    """Whether a license with ``regions`` and ``countries`` covers ``place``: as activation
    does, its region or its country (a subdivision's country) must be listed; an unknown
    place is not held against it."""
    if place.region is None and place.country is None:
        return True
    if place.region is not None and place.region in regions:
        return True
    return place.country is not None and place.country.split("-", 1)[0] in countries


def out_of_territory(
    *,
    checks: Iterable[Check],
    activations: Iterable[Place],
    regions: frozenset[str],
    countries: frozenset[str],
) -> Finding | None:
    """Use from outside the territory: validations answered as outside it, or activations in
    places the license does not cover (now)."""
    places: set[tuple[str, str]] = set()
    refused = 0
    embargoed = False
    for check in checks:
        if check.code in OUTSIDE_CODES:
            refused += 1
            embargoed = embargoed or check.code == "EMBARGOED_REGION"
            places.add((check.region or "", check.country or ""))
    deployed = 0
    for place in activations:
        if not covered(place, regions=regions, countries=countries):
            deployed += 1
            places.add((place.region or "", place.country or ""))
    if not refused and not deployed:
        return None
    # Refused validations did no harm yet; repeated ones mean a deployment keeps trying.
    if embargoed or deployed:
        severity = Severity.HIGH
    else:
        severity = Severity.MEDIUM if refused >= OUTSIDE_REPEATED else Severity.LOW
    return Finding(
        Rule.OUT_OF_TERRITORY,
        severity,
        {
            "validations_outside": refused,
            "activations_outside": deployed,
            "embargoed": embargoed,
            "places": [
                {"region": region or None, "country": country or None}
                for region, country in sorted(places)[:SAMPLE]
            ],
            "licensed_regions": sorted(regions),
            "licensed_countries": sorted(countries),
        },
    )


def median_absolute_deviation(values: Sequence[float]) -> tuple[float, float]:
    """The median of ``values`` and their median absolute deviation from it."""
    centre = statistics.median(values)
    return centre, statistics.median(abs(value - centre) for value in values)


def usage_spike(*, series: Sequence[tuple[str, float]], thresholds: Thresholds) -> Finding | None:
    """A usage spike: the latest period (last of ``series``, oldest first) above
    ``median + k x MAD`` of the periods before it, given at least ``spike_min_history`` of
    them. A flat history (MAD zero) spikes on any rise above twice its median."""
    if len(series) < thresholds.spike_min_history + 1:
        return None
    history = [float(total) for _, total in series[:-1]]
    period, latest = series[-1]
    centre, mad = median_absolute_deviation(history)
    limit = centre + thresholds.spike_k * mad if mad > 0 else max(2 * centre, centre + 1)
    if float(latest) <= limit:
        return None
    scale = (float(latest) - centre) / mad if mad > 0 else math.inf
    severity = Severity.HIGH if scale > 2 * thresholds.spike_k else Severity.MEDIUM
    return Finding(
        Rule.USAGE_SPIKE,
        severity,
        {
            "period": period,
            "total": float(latest),
            "median": centre,
            "mad": mad,
            "limit": limit,
            "history_periods": len(history),
        },
    )


def use_after_revocation(
    *, status: str, revoked_at: datetime | None, checks: Iterable[Check]
) -> Finding | None:
    """Use after revocation: validations of a revoked or terminated license after that."""
    if status not in {"revoked", "terminated"} or revoked_at is None:
        return None
    after = sorted((c for c in checks if c.checked_at > revoked_at), key=lambda c: c.checked_at)
    if not after:
        return None
    return Finding(
        Rule.USE_AFTER_REVOCATION,
        Severity.HIGH,
        {
            "status": status,
            "revoked_at": revoked_at.isoformat(),
            "checks_after": len(after),
            "last_at": after[-1].checked_at.isoformat(),
            "fingerprints": sorted({c.fingerprint for c in after if c.fingerprint})[:SAMPLE],
            "addresses": sorted({c.address for c in after})[:SAMPLE],
        },
    )
