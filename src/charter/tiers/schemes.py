"""Tier schemes: the versions of each program's tiers, and which one is in force when.

A version may be scheduled ahead but never dated before the latest one, so the history of what
each tier required when is never rewritten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.csvimport import describe
from charter.core.errors import Invalid
from charter.core.ids import new_id
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.programs.models import Certification
from charter.tiers.models import TierScheme
from charter.tiers.rules import Scheme
from charter.tiers.schemas import SchemeCreate


def _versions(db: Session, program: str) -> list[TierScheme]:
    query = select(TierScheme).where(TierScheme.program == program).order_by(TierScheme.version)
    return list(db.scalars(query))


def _in_force(versions: Sequence[TierScheme], at: datetime) -> TierScheme | None:
    due = [version for version in versions if version.effective_from <= at]
    return max(due, key=lambda v: (v.effective_from, v.version), default=None)


def publish_scheme(db: Session, actor: Principal, *, data: SchemeCreate) -> TierScheme:
    """Publish a new version of a program's tiers, in force from ``effective_from`` (now).

    Like certification criteria, a version may be scheduled ahead but never dated before the
    latest one: the history of what each tier required when must not be rewritten.
    """
    actor.require(Permission.CERTIFICATIONS_WRITE)
    try:
        scheme = Scheme(tiers=data.tiers)
    except ValidationError as error:
        raise Invalid.field("tiers", describe(error)) from None
    known = set(
        db.scalars(
            select(Certification.code).where(Certification.code.in_(scheme.certification_codes()))
        )
    )
    for index, tier in enumerate(scheme.tiers):
        needs = tier.requirements
        taxonomy.require_codes(
            db,
            TaxonomyKind.TRACK,
            f"tiers.{index}.requirements.min_certified_by_track",
            needs.min_certified_by_track,
        )
        for code in needs.min_certified_by_certification:
            if code not in known:
                raise Invalid.field(
                    f"tiers.{index}.requirements.min_certified_by_certification.{code}",
                    f"no certification with code {code}",
                )
        for position, code in enumerate(needs.required_certifications):
            if code not in known:
                raise Invalid.field(
                    f"tiers.{index}.requirements.required_certifications.{position}",
                    f"no certification with code {code}",
                )
    now = clock.now()
    effective_from = data.effective_from or now
    versions = _versions(db, data.program)
    latest = max(versions, key=lambda v: (v.effective_from, v.version), default=None)
    if latest is not None and effective_from < latest.effective_from:
        raise Invalid.field(
            "effective_from",
            f"must not be before {latest.effective_from.isoformat()}, when version "
            f"{latest.version} takes effect",
        )
    row = TierScheme(
        id=new_id("tsc"),
        program=data.program,
        version=max((v.version for v in versions), default=0) + 1,
        effective_from=effective_from,
        tiers=[tier.model_dump(mode="json") for tier in scheme.ranked()],
        created_at=now,
    )
    db.add(row)
    db.flush()
    events.append(
        db,
        actor,
        "tier_scheme.published",
        row,
        program=row.program,
        version=row.version,
        effective_from=row.effective_from,
        previous_version=latest.version if latest else None,
        tiers=[tier.key for tier in scheme.ranked()],
    )
    return row


def list_schemes(
    db: Session, actor: Principal, *, program: str | None = None
) -> list[tuple[TierScheme, bool]]:
    """Every published scheme version (of ``program``, or all), with whether it is in force."""
    actor.require(Permission.PARTNERS_READ)
    query = select(TierScheme).order_by(TierScheme.program, TierScheme.version)
    if program is not None:
        query = query.where(TierScheme.program == program)
    rows = list(db.scalars(query))
    now = clock.now()
    by_program: dict[str, list[TierScheme]] = defaultdict(list)
    for row in rows:
        by_program[row.program].append(row)
    current = {name: _in_force(versions, now) for name, versions in by_program.items()}
    return [(row, current.get(row.program) is row) for row in rows]


@dataclass(frozen=True, slots=True)
class SchemeInForce:
    """A program's scheme version in force, parsed."""

    program: str
    version: int
    scheme: Scheme


def schemes_in_force(db: Session, at: datetime) -> list[SchemeInForce]:
    """The scheme version in force at ``at`` for every program that has one."""
    by_program: dict[str, list[TierScheme]] = defaultdict(list)
    for row in db.scalars(select(TierScheme).where(TierScheme.effective_from <= at)):
        by_program[row.program].append(row)
    found = []
    for program in sorted(by_program):
        current = _in_force(by_program[program], at)
        assert current is not None
        scheme = Scheme.model_validate({"tiers": current.tiers})
        found.append(SchemeInForce(program, current.version, scheme))
    return found


def certification_codes(schemes: Iterable[SchemeInForce]) -> set[str]:
    """Every certification code the tiers of ``schemes`` count."""
    codes: set[str] = set()
    for found in schemes:
        codes |= found.scheme.certification_codes()
    return codes


@dataclass(frozen=True, slots=True)
class CountingTier:
    """A tier in force whose requirements count a certification, and how they count it."""

    program: str
    tier_key: str
    tier_name: str
    how: str


def tiers_counting(db: Session, actor: Principal, *, code: str, track: str) -> list[CountingTier]:
    """The tiers in force that count the certification ``code`` (of ``track``): by name, or
    among the certified people of its track. A change to its criteria reaches these firms."""
    actor.require(Permission.PARTNERS_READ)
    found: list[CountingTier] = []
    for current in schemes_in_force(db, clock.now()):
        for tier in current.scheme.ranked():
            needs = tier.requirements
            ways = []
            if code in needs.required_certifications:
                ways.append("required")
            if code in needs.min_certified_by_certification:
                count = needs.min_certified_by_certification[code]
                ways.append(f"{count} certified people needed")
            by_track = {str(key): value for key, value in needs.min_certified_by_track.items()}
            if track in by_track:
                ways.append(f"counts toward {by_track[track]} certified in {track}")
            if ways:
                found.append(CountingTier(current.program, tier.key, tier.name, "; ".join(ways)))
    return found
