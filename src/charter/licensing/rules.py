"""Agreement terms and requirements as values, and the pure rules of licensing.

Nothing here touches the database or the clock: what an agreement says, whether a firm meets
what it requires, which lifecycle changes a license allows, and what a license entitles its
holder to are functions of values, with the time an argument where it matters.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal, Self

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from charter.core.text import Code, Line
from charter.licensing.enums import FeePeriod, LicenseStatus, Renewal
from charter.licensing.metering import UsageCaps
from charter.partners.schemas import Country
from charter.partners.taxonomy_schemas import RegionCode, TrackCode
from charter.tiers.rules import Count, FirmState, Key, Scheme

MAX_ITEMS = 200
MAX_RATE_TIERS = 20

Money = Annotated[
    Decimal, Field(ge=0, le=Decimal("1e12"), max_digits=17, decimal_places=4, allow_inf_nan=False)
]
"""An amount in a currency's units, up to four decimal places."""

Percent = Annotated[
    Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4, allow_inf_nan=False)
]


def _currency(value: str) -> str:
    code = value.strip().upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (such as EUR, USD)")
    return str(code)


Currency = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency)]


def _distinct(values: Iterable[object], what: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} lists {value} twice")
        seen.add(value)


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rights(_Value):
    """What the partner may do with the product; each right is stated, none is implied."""

    use: bool
    reproduce: bool
    distribute: bool
    modify: bool
    derivative_works: bool
    sublicense: bool
    white_label: bool


class Territory(_Value):
    """Where the partner may exercise its rights: sales regions and ISO 3166 countries."""

    regions: list[RegionCode] = Field(default_factory=list, max_length=100)
    countries: list[Country] = Field(default_factory=list, max_length=300)
    excluded_countries: list[Country] = Field(default_factory=list, max_length=300)

    @model_validator(mode="after")
    def _sensible(self) -> Self:
        if not self.regions and not self.countries:
            raise ValueError("name at least one region or country")
        _distinct(self.regions, "regions")
        _distinct(self.countries, "countries")
        _distinct(self.excluded_countries, "excluded_countries")
        both = sorted(set(self.countries) & set(self.excluded_countries))
        if both:
            raise ValueError(f"{', '.join(both)} both included and excluded")
        return self


class Term(_Value):
    """How long an agreement (and a license under it, unless told otherwise) runs."""

    months: int = Field(ge=1, le=1200)
    renewal: Renewal


class FlatFee(_Value):
    """One amount per period, whatever the use."""

    model: Literal["flat"]
    amount: Money
    currency: Currency
    period: FeePeriod


class PerSeatFee(_Value):
    """An amount per seat per period."""

    model: Literal["per_seat"]
    amount_per_seat: Money
    currency: Currency
    period: Literal[FeePeriod.MONTH, FeePeriod.YEAR]
    minimum_seats: int = Field(default=1, ge=1, le=1_000_000)


class RateTier(_Value):
    """The rate for each unit up to ``up_to`` (``None``: every unit beyond the tier before)."""

    up_to: int | None = Field(ge=1, le=10**15)
    rate: Money


class UsageFee(_Value):
    """A rate per unit used, in tiers: each unit is charged at the rate of the tier it is in."""

    model: Literal["usage"]
    unit: Key
    currency: Currency
    tiers: list[RateTier] = Field(min_length=1, max_length=MAX_RATE_TIERS)

    @model_validator(mode="after")
    def _ascending(self) -> Self:
        bounds = [tier.up_to for tier in self.tiers]
        if bounds[-1] is not None:
            raise ValueError("the last tier has no upper bound (up_to: null)")
        if None in bounds[:-1]:
            raise ValueError("only the last tier may have no upper bound")
        limits = [bound for bound in bounds if bound is not None]
        if any(later <= earlier for earlier, later in pairwise(limits)):
            raise ValueError("tiers' upper bounds must rise")
        return self


Fee = Annotated[FlatFee | PerSeatFee | UsageFee, Field(discriminator="model")]


class AuditRights(_Value):
    """Whether and how often the vendor may audit the partner's use, and with what notice."""

    allowed: bool
    notice_days: int = Field(default=30, ge=0, le=365)
    max_per_year: int = Field(default=1, ge=0, le=12)


class TerminationDuties(_Value):
    """What the partner must do when the agreement ends, within the wind-down period."""

    wind_down_days: int = Field(ge=0, le=3650)
    duties: list[Annotated[Line, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=50
    )


class Terms(_Value):
    """Everything an agreement version states."""

    features: list[Key] = Field(default_factory=list, max_length=MAX_ITEMS)
    rights: Rights
    territory: Territory
    # Empty: no restriction to particular industries.
    verticals: list[Key] = Field(default_factory=list, max_length=MAX_ITEMS)
    term: Term
    fee: Fee
    royalty_percent: Percent
    audit: AuditRights
    termination: TerminationDuties
    # Usage caps by metric; none by default, so terms written before caps existed stay valid.
    usage_caps: UsageCaps = Field(default_factory=dict)

    @model_validator(mode="after")
    def _distinct_lists(self) -> Self:
        _distinct(self.features, "features")
        _distinct(self.verticals, "verticals")
        return self


class Requirements(_Value):
    """What a firm must hold, when it signs, to sign an agreement version."""

    # The tier is looked up in this program's tier scheme in force.
    program: Key = "default"
    min_tier: Key | None = None
    # Distinct people now at the firm with a live award of a certification of the track...
    min_certified_by_track: dict[TrackCode, Count] = Field(default_factory=dict)
    # ...of the certification (by code)...
    min_certified_by_certification: dict[Code, Count] = Field(default_factory=dict)
    # ...and at least one person holding each of these.
    required_certifications: list[Code] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if len(self.min_certified_by_certification) > 50:
            raise ValueError("at most 50 certifications")
        _distinct(self.required_certifications, "required_certifications")
        return self

    def certification_codes(self) -> set[str]:
        """Every certification code these requirements name."""
        return set(self.min_certified_by_certification) | set(self.required_certifications)


def unmet_requirements(
    requirements: Requirements, *, state: FirmState, scheme: Scheme | None, held: str | None
) -> list[str]:
    """What a firm lacks to sign, one line each; ``[]`` when it meets every requirement.

    ``scheme`` is the requirements' program's tier scheme in force, ``held`` the key of the
    tier the firm holds in it (``None``: none), ``state`` its certified headcount now.
    """
    lines: list[str] = []
    if requirements.min_tier is not None:
        wanted = scheme.get(requirements.min_tier) if scheme is not None else None
        if wanted is None or scheme is None:
            lines.append(
                f"tier {requirements.min_tier} of program {requirements.program}, "
                "which no tier scheme in force has"
            )
        else:
            have = scheme.get(held)
            if have is None or have.rank < wanted.rank:
                holds = have.name if have is not None else "no tier"
                lines.append(f"tier {wanted.name} or higher (holds {holds})")
    for track, wanted_count in sorted(requirements.min_certified_by_track.items()):
        count = state.certified_by_track.get(track, 0)
        if count < wanted_count:
            lines.append(f"{wanted_count} people certified in the {track} track (has {count})")
    for code, wanted_count in sorted(requirements.min_certified_by_certification.items()):
        count = state.certified_by_certification.get(code, 0)
        if count < wanted_count:
            lines.append(f"{wanted_count} people certified in {code} (has {count})")
    for code in requirements.required_certifications:
        if state.certified_by_certification.get(code, 0) < 1:
            lines.append(f"a person certified in {code}")
    return lines


def entitlements(features: Iterable[str], tier_benefits: Iterable[str]) -> list[str]:
    """What a license entitles its holder to: the agreement's features and the tiers' benefits."""
    return sorted(set(features) | set(tier_benefits))


def add_months(at: datetime, months: int) -> datetime:
    """``at`` moved ``months`` calendar months on (the 31st becomes the month's last day)."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


# Which stored statuses each action starts from, and where it leads.
TRANSITIONS: Mapping[str, tuple[frozenset[LicenseStatus], LicenseStatus | None]] = {
    "suspend": (frozenset({LicenseStatus.ACTIVE}), LicenseStatus.SUSPENDED),
    "reinstate": (frozenset({LicenseStatus.SUSPENDED}), LicenseStatus.ACTIVE),
    "revoke": (
        frozenset({LicenseStatus.ACTIVE, LicenseStatus.SUSPENDED, LicenseStatus.EXPIRED}),
        LicenseStatus.REVOKED,
    ),
    "terminate": (
        frozenset({LicenseStatus.ACTIVE, LicenseStatus.SUSPENDED, LicenseStatus.EXPIRED}),
        LicenseStatus.TERMINATED,
    ),
    "expire": (frozenset({LicenseStatus.ACTIVE}), LicenseStatus.EXPIRED),
    # A renewal keeps a suspension in place; an expired license is live again.
    "renew": (
        frozenset({LicenseStatus.ACTIVE, LicenseStatus.SUSPENDED, LicenseStatus.EXPIRED}),
        None,
    ),
}


def effective_status(status: LicenseStatus, valid_until: datetime, at: datetime) -> LicenseStatus:
    """The status at ``at``: an active license past its term is expired, recorded yet or not."""
    if status is LicenseStatus.ACTIVE and valid_until <= at:
        return LicenseStatus.EXPIRED
    return status


def transition(status: LicenseStatus, action: str) -> LicenseStatus:
    """The status ``action`` leads to from ``status``; :class:`ValueError` saying why not."""
    starts, target = TRANSITIONS[action]
    if status not in starts:
        raise ValueError(f"a license that is {status.value} cannot be {past_tense(action)}")
    if target is None:
        return LicenseStatus.ACTIVE if status is LicenseStatus.EXPIRED else status
    return target


_PAST = {
    "suspend": "suspended",
    "reinstate": "reinstated",
    "revoke": "revoked",
    "terminate": "terminated",
    "expire": "expired",
    "renew": "renewed",
}


def past_tense(action: str) -> str:
    """How an action is named once done (``license.<past tense>`` is its event)."""
    return _PAST[action]


def covers(outer: Iterable[str], inner: Iterable[str]) -> list[str]:
    """The items of ``inner`` that ``outer`` lacks, in order."""
    allowed = set(outer)
    return [item for item in inner if item not in allowed]
