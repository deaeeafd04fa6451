"""Partner tiers as values, and the pure rule engine that places a firm in them.

Nothing here touches the database or the clock: a firm's state and the time come in as
arguments, so the same state judged at the same instant always gives the same answer. The
service gathers states (one firm, or every firm with a few aggregate queries) and acts on the
answers: events, badges, grace periods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from charter.core.text import Code, Name, Note, OneLine
from charter.partners.enums import PartnerStatus
from charter.partners.taxonomy_schemas import TrackCode

MAX_TIERS = 20
MAX_ITEMS = 50
MAX_GRACE_DAYS = 3650

Key = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$"
    ),
    OneLine,
]
"""A tier's or an entitlement's key, and a program's name: lower-case, digits, ``_``, ``-``."""

Metric = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$"
    ),
    OneLine,
]
"""A track-record figure's name (``successful_deployments``)."""

Count = Annotated[int, Field(ge=1, le=1_000_000)]
Figure = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]


class Requirements(BaseModel):
    """What a firm must have, now, to hold a tier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Distinct people now at the firm holding an active award of a certification of the track.
    min_certified_by_track: dict[TrackCode, Count] = Field(default_factory=dict)
    # Distinct people now at the firm holding an active award of the certification (by code).
    min_certified_by_certification: dict[Code, Count] = Field(default_factory=dict)
    # At least one person now at the firm holds each of these.
    required_certifications: list[Code] = Field(default_factory=list, max_length=MAX_ITEMS)
    onboarding_complete: bool = False
    good_standing: bool = False
    # The latest recorded value of each figure must be at least this.
    min_track_record: dict[Metric, Figure] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if len(self.min_certified_by_certification) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} certifications")
        if len(self.min_track_record) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} track-record figures")
        if len(set(self.required_certifications)) != len(self.required_certifications):
            raise ValueError("required_certifications lists a certification twice")
        return self

    def certification_codes(self) -> set[str]:
        """Every certification code these requirements name."""
        return set(self.min_certified_by_certification) | set(self.required_certifications)


class Benefits(BaseModel):
    """What a tier gives: named entitlements (for licensing), a discount, a support level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entitlements: list[Key] = Field(default_factory=list, max_length=MAX_ITEMS)
    discount_percent: float = Field(default=0, ge=0, le=100, allow_inf_nan=False)
    support_level: Note | None = None


class Tier(BaseModel):
    """One tier: its rank (higher is better), requirements, benefits and grace period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    name: Name
    rank: int = Field(ge=1, le=1000)
    description: Note = ""
    requirements: Requirements = Field(default_factory=Requirements)
    benefits: Benefits = Field(default_factory=Benefits)
    grace_days: int = Field(default=30, ge=0, le=MAX_GRACE_DAYS)


class Scheme(BaseModel):
    """A program's tiers; keys and ranks are unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: list[Tier] = Field(min_length=1, max_length=MAX_TIERS)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        keys: set[str] = set()
        ranks: set[int] = set()
        for tier in self.tiers:
            if tier.key in keys:
                raise ValueError(f"tier key {tier.key!r} is used twice")
            if tier.rank in ranks:
                raise ValueError(f"rank {tier.rank} is used by two tiers")
            keys.add(tier.key)
            ranks.add(tier.rank)
        return self

    def ranked(self) -> list[Tier]:
        """The tiers, lowest rank first."""
        return sorted(self.tiers, key=lambda tier: tier.rank)

    def get(self, key: str | None) -> Tier | None:
        """The tier with this key, if the scheme has it."""
        return next((tier for tier in self.tiers if tier.key == key), None)

    def certification_codes(self) -> set[str]:
        """Every certification code any tier names."""
        codes: set[str] = set()
        for tier in self.tiers:
            codes |= tier.requirements.certification_codes()
        return codes


@dataclass(frozen=True, slots=True)
class FirmState:
    """What the engine knows about a firm at one instant."""

    partner_id: str
    status: str = PartnerStatus.ACTIVE.value
    missing_onboarding: tuple[str, ...] = ()
    certified_by_track: Mapping[str, int] = field(default_factory=dict)
    certified_by_certification: Mapping[str, int] = field(default_factory=dict)
    track_record: Mapping[str, float] = field(default_factory=dict)


def _plural(count: int, word: str) -> str:
    return f"{count} more {word}{'' if count == 1 else 's'}"


def _figure(value: float) -> str:
    return f"{value:g}"


class ShortfallKind(StrEnum):
    """What kind of requirement a firm falls short of."""

    STANDING = "standing"
    ONBOARDING = "onboarding"
    TRACK = "track"
    CERTIFICATION = "certification"
    REQUIRED_CERTIFICATION = "required_certification"
    TRACK_RECORD = "track_record"


@dataclass(frozen=True, slots=True)
class Shortfall:
    """One requirement a firm does not meet, with the figures, so each face words it its way.

    ``subject`` is the track, certification code or metric named; ``have`` and ``wanted`` the
    count or figure (``have`` is ``None`` for a figure never recorded); ``detail`` the status
    or the missing onboarding checks.
    """

    kind: ShortfallKind
    subject: str = ""
    have: float | None = None
    wanted: float = 0
    detail: tuple[str, ...] = ()

    @property
    def short_by(self) -> int:
        """How many more people a headcount requirement needs."""
        return int(self.wanted - (self.have or 0))

    def line(self) -> str:
        """The shortfall as one line of the engine's own wording (stored, and in the API)."""
        match self.kind:
            case ShortfallKind.STANDING:
                return f"partner in good standing (status is {self.detail[0]}, not active)"
            case ShortfallKind.ONBOARDING:
                return f"onboarding complete (missing: {', '.join(self.detail)})"
            case ShortfallKind.TRACK:
                return _plural(self.short_by, f"{self.subject} certification")
            case ShortfallKind.CERTIFICATION:
                short = self.short_by
                people = "person" if short == 1 else "people"
                return f"{short} more {people} certified in {self.subject}"
            case ShortfallKind.REQUIRED_CERTIFICATION:
                return f"a person certified in {self.subject}"
            case ShortfallKind.TRACK_RECORD:
                label = self.subject.replace("_", " ")
                if self.have is None:
                    return f"{label} not recorded (needs {_figure(self.wanted)})"
                return f"{label} {_figure(self.have)} < {_figure(self.wanted)}"


def shortfalls(tier: Tier, state: FirmState) -> list[Shortfall]:
    """What ``state`` lacks for ``tier``, one item each; ``[]`` means the tier is met."""
    needs = tier.requirements
    found: list[Shortfall] = []
    if needs.good_standing and state.status != PartnerStatus.ACTIVE.value:
        found.append(Shortfall(ShortfallKind.STANDING, detail=(state.status,)))
    if needs.onboarding_complete and state.missing_onboarding:
        found.append(Shortfall(ShortfallKind.ONBOARDING, detail=tuple(state.missing_onboarding)))
    for track, wanted in sorted(needs.min_certified_by_track.items()):
        have = state.certified_by_track.get(track, 0)
        if have < wanted:
            found.append(Shortfall(ShortfallKind.TRACK, track, have, wanted))
    for code, wanted in sorted(needs.min_certified_by_certification.items()):
        have = state.certified_by_certification.get(code, 0)
        if have < wanted:
            found.append(Shortfall(ShortfallKind.CERTIFICATION, code, have, wanted))
    for code in needs.required_certifications:
        if state.certified_by_certification.get(code, 0) < 1:
            found.append(Shortfall(ShortfallKind.REQUIRED_CERTIFICATION, code, 0, 1))
    for metric, minimum in sorted(needs.min_track_record.items()):
        figure = state.track_record.get(metric)
        if figure is None or figure < minimum:
            found.append(Shortfall(ShortfallKind.TRACK_RECORD, metric, figure, minimum))
    return found


def unmet(tier: Tier, state: FirmState) -> list[str]:
    """What ``state`` lacks for ``tier``, one line each; ``[]`` means the tier is met."""
    return [item.line() for item in shortfalls(tier, state)]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The tier a firm qualifies for, and what the next tier up still needs."""

    qualified: Tier | None
    next_tier: Tier | None
    missing: list[str]


def evaluate(scheme: Scheme, state: FirmState) -> Evaluation:
    """The highest tier ``state`` meets, and the next tier up with what it lacks."""
    ranked = scheme.ranked()
    qualified = None
    for tier in ranked:
        if not unmet(tier, state):
            qualified = tier
    above = [tier for tier in ranked if qualified is None or tier.rank > qualified.rank]
    next_tier = above[0] if above else None
    return Evaluation(qualified, next_tier, unmet(next_tier, state) if next_tier else [])


@dataclass(frozen=True, slots=True)
class Standing:
    """What a firm holds in a program, as stored between evaluations."""

    tier: str | None = None
    since: datetime | None = None
    at_risk_since: datetime | None = None
    grace_until: datetime | None = None
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    """One thing that happened to a firm's standing: an event to emit."""

    kind: str  # "upgraded", "downgraded", "at_risk", "recovered"
    from_tier: Tier | None = None
    to_tier: Tier | None = None
    missing: tuple[str, ...] = ()
    grace_until: datetime | None = None


def _rank(tier: Tier | None) -> int:
    return tier.rank if tier is not None else 0


def advance(
    scheme: Scheme,
    standing: Standing,
    qualified: Tier | None,
    lacking: Sequence[str],
    now: datetime,
) -> tuple[Standing, list[Change]]:
    """The standing once the firm qualifies for ``qualified`` at ``now``, and what changed.

    ``lacking`` is what the held tier misses. Upgrades take effect at once. A firm that stops
    meeting its tier is at risk and keeps the tier until its grace period ends, then moves down
    to the tier it qualifies for; meeting the tier again in time clears the risk. A tier the
    scheme no longer has is left at once. Advancing an unchanged firm changes nothing.
    """
    held = scheme.get(standing.tier)
    if standing.tier is not None and held is None:
        # The tier was removed from the scheme: there is nothing to keep during a grace period.
        moved = Standing(tier=qualified.key if qualified else None, since=now)
        gone = Tier(key=standing.tier, name=standing.tier, rank=1)
        kind = "upgraded" if qualified is not None else "downgraded"
        return moved, [Change(kind, from_tier=gone, to_tier=qualified)]
    if _rank(qualified) > _rank(held):
        assert qualified is not None
        return Standing(tier=qualified.key, since=now), [
            Change("upgraded", from_tier=held, to_tier=qualified)
        ]
    if held is None:
        return standing, []
    if _rank(qualified) == held.rank:
        if standing.at_risk_since is None:
            return standing, []
        cleared = replace(standing, at_risk_since=None, grace_until=None, missing=())
        return cleared, [Change("recovered", from_tier=held, to_tier=held)]
    missing = tuple(lacking)
    if standing.at_risk_since is None and held.grace_days > 0:
        grace_until = now + timedelta(days=held.grace_days)
        at_risk = replace(standing, at_risk_since=now, grace_until=grace_until, missing=missing)
        return at_risk, [
            Change("at_risk", from_tier=held, missing=missing, grace_until=grace_until)
        ]
    if standing.at_risk_since is not None and (
        standing.grace_until is not None and now < standing.grace_until
    ):
        # Still within the grace period: keep what is missing current, without an event.
        return replace(standing, missing=missing), []
    moved = Standing(tier=qualified.key if qualified else None, since=now)
    return moved, [Change("downgraded", from_tier=held, to_tier=qualified)]


def step(
    scheme: Scheme, standing: Standing, state: FirmState, now: datetime
) -> tuple[Standing, list[Change], Evaluation]:
    """Evaluate ``state`` and advance ``standing``: the whole engine in one call."""
    evaluation = evaluate(scheme, state)
    held = scheme.get(standing.tier)
    lacking = unmet(held, state) if held is not None else []
    new, changes = advance(scheme, standing, evaluation.qualified, lacking, now)
    return new, changes, evaluation


def certified_counts(
    holdings: Sequence[tuple[str, str, str]],
) -> tuple[dict[str, int], dict[str, int]]:
    """Distinct people per track and per certification code from ``(person, track, code)``."""
    by_track: dict[str, set[str]] = {}
    by_code: dict[str, set[str]] = {}
    for person, track, code in holdings:
        by_track.setdefault(track, set()).add(person)
        by_code.setdefault(code, set()).add(person)
    return (
        {track: len(people) for track, people in by_track.items()},
        {code: len(people) for code, people in by_code.items()},
    )


def describe(tier: Tier) -> list[str]:
    """What ``tier`` requires, one line each, for people to read (and badges to state)."""
    needs = tier.requirements
    lines: list[str] = []
    if needs.good_standing:
        lines.append("partner in good standing")
    if needs.onboarding_complete:
        lines.append("onboarding complete")
    for track, count in sorted(needs.min_certified_by_track.items()):
        lines.append(f"{count} {track}-certified {'person' if count == 1 else 'people'}")
    for code, count in sorted(needs.min_certified_by_certification.items()):
        lines.append(f"{count} {'person' if count == 1 else 'people'} certified in {code}")
    lines.extend(f"a person certified in {code}" for code in needs.required_certifications)
    for metric, wanted in sorted(needs.min_track_record.items()):
        lines.append(f"{metric.replace('_', ' ')} at least {_figure(wanted)}")
    return lines
