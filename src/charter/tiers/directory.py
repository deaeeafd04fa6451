"""The public partner directory, firm profiles, and the public facts of achievements and tiers.

Everything here is public and read-only: it shows only firms in good standing that chose to be
listed (active and ``listed``; a suspension hides a firm at once), counts only live awards of
people who work at the firm now, and names a person only where they chose to be named. The
queries are set-based: one page of the directory costs the same few statements whatever its
length, never one per firm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from charter.core.errors import NotFound
from charter.core.text import is_storable
from charter.credentials.enums import AwardStatus, CredentialStatus
from charter.credentials.models import Award, IssuedCredential
from charter.credentials.rules import LIVE_STATUSES
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner, PartnerRegion, Person, RegionCountry
from charter.programs.models import Certification, CriteriaVersion
from charter.tiers.models import FirmHeadcount, FirmTier
from charter.tiers.rules import Tier
from charter.tiers.schemes import SchemeInForce, schemes_in_force
from charter.tiers.state import active_award

PAGE_SIZE = 20
MAX_PAGE = 10_000


def shown() -> ColumnElement[bool]:
    """The condition a firm meets while the directory shows it."""
    return and_(Partner.listed.is_(True), Partner.status == PartnerStatus.ACTIVE.value)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a visitor filters the directory by; ``None`` (or blank) is no filter."""

    q: str | None = None
    region: str | None = None
    country: str | None = None
    type: str | None = None
    tier: str | None = None
    track: str | None = None
    certification: str | None = None
    page: int = 1

    def query_items(self) -> list[tuple[str, str]]:
        """The filters given, as query parameters (without the page)."""
        names = ("q", "region", "country", "type", "tier", "track", "certification")
        return [(name, value) for name in names if (value := getattr(self, name))]


@dataclass(frozen=True, slots=True)
class HeldTier:
    """A tier a firm holds, with its badge when it has one."""

    program: str
    key: str
    name: str
    rank: int
    badge_id: str | None


@dataclass(frozen=True, slots=True)
class CertifiedCount:
    """How many of a firm's people hold a certification now."""

    code: str
    name: str
    track: str
    people: int


@dataclass(slots=True)
class FirmEntry:
    """A firm as the directory lists it."""

    id: str
    name: str
    slug: str
    type: str
    country: str
    regions: list[str]
    blurb: str | None
    website: str | None
    certified_people: int
    tiers: list[HeldTier] = field(default_factory=list)
    certifications: list[CertifiedCount] = field(default_factory=list)

    @property
    def tracks(self) -> list[str]:
        """The tracks its certified people are certified in."""
        return sorted({item.track for item in self.certifications})

    @property
    def top_tier(self) -> HeldTier | None:
        """Its highest tier across programs."""
        return max(self.tiers, key=lambda tier: tier.rank, default=None)


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    """One page of the directory."""

    entries: list[FirmEntry]
    page: int
    has_next: bool


@dataclass(frozen=True, slots=True)
class NamedHolder:
    """A certified person who chose to be named, with the credential to verify."""

    name: str
    certification: str
    credential_id: str | None


@dataclass(frozen=True, slots=True)
class FirmProfile:
    """A listed firm's public profile."""

    entry: FirmEntry
    named: list[NamedHolder]


@dataclass(frozen=True, slots=True)
class TierOption:
    """A tier a visitor may filter by."""

    key: str
    name: str
    rank: int


def tier_options(schemes: Sequence[SchemeInForce]) -> list[TierOption]:
    """Every tier of the schemes in force, highest first, each key once."""
    seen: dict[str, TierOption] = {}
    for found in schemes:
        for tier in found.scheme.tiers:
            seen.setdefault(tier.key, TierOption(tier.key, tier.name, tier.rank))
    return sorted(seen.values(), key=lambda option: (-option.rank, option.name))


def certification_options(db: Session) -> list[tuple[str, str, str]]:
    """``(code, name, track)`` of every certification not retired, by name."""
    query = (
        select(Certification.code, Certification.name, Certification.track)
        .where(Certification.retired_at.is_(None))
        .order_by(Certification.name, Certification.code)
    )
    return [(code, name, track) for code, name, track in db.execute(query)]


def _rank_of(schemes: Sequence[SchemeInForce]) -> ColumnElement[Any]:
    whens = [
        (and_(FirmTier.program == found.program, FirmTier.tier == tier.key), tier.rank)
        for found in schemes
        for tier in found.scheme.tiers
    ]
    if not whens:
        return literal(0)
    return case(*whens, else_=0)


def _live_people(at: datetime, partner_ids: Sequence[str] | None = None) -> Any:
    """Per firm (every firm, or ``partner_ids``), how many of its people hold a live award."""
    query = (
        select(
            Person.partner_id.label("partner_id"),
            func.count(Award.person_id.distinct()).label("people"),
        )
        .select_from(Award)
        .join(Person, Person.id == Award.person_id)
        .where(active_award(at), Person.partner_id.is_not(None))
        .group_by(Person.partner_id)
    )
    if partner_ids is not None:
        query = query.where(Person.partner_id.in_(partner_ids))
    return query


def recount_headcounts(db: Session, at: datetime, partner_ids: Sequence[str] | None = None) -> None:
    """Store how many people of every firm (or of ``partner_ids``) hold a live award at ``at``.

    The directory orders firms by these counts: counting every firm's people on every request
    is a pass over every live award. The worker recounts the firms each award or move of a
    person concerns, and every firm hourly (awards also lapse by the clock alone); the counts a
    page shows are counted live for its own firms.
    """
    ids = None if partner_ids is None else sorted(set(partner_ids))
    live = _live_people(at, ids).subquery()
    stamp = literal(at, FirmHeadcount.__table__.c.counted_at.type)
    counted = select(live.c.partner_id, live.c.people, stamp)
    remove = delete(FirmHeadcount)
    if ids is not None:
        if not ids:
            return
        remove = remove.where(FirmHeadcount.partner_id.in_(ids))
    db.execute(remove)
    db.execute(
        insert(FirmHeadcount).from_select(["partner_id", "certified_people", "counted_at"], counted)
    )


def _holds(at: datetime, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """A firm has someone with a live award of a certification meeting ``condition``."""
    return exists().where(
        Person.partner_id == Partner.id,
        Award.person_id == Person.id,
        Certification.id == Award.certification_id,
        active_award(at),
        condition,
    )


def _filtered(query: Any, filters: Filters, at: datetime) -> Any:
    if filters.q:
        query = query.where(
            or_(
                Partner.name.icontains(filters.q, autoescape=True),
                Partner.blurb.icontains(filters.q, autoescape=True),
            )
        )
    if filters.region:
        # A firm is in a region it operates in, or the region grouping its own country.
        query = query.where(
            or_(
                exists().where(
                    PartnerRegion.partner_id == Partner.id, PartnerRegion.region == filters.region
                ),
                Partner.country.in_(
                    select(RegionCountry.country).where(RegionCountry.region == filters.region)
                ),
            )
        )
    if filters.country:
        query = query.where(Partner.country == filters.country.upper())
    if filters.type:
        query = query.where(Partner.type == filters.type)
    if filters.tier:
        query = query.where(
            exists().where(FirmTier.partner_id == Partner.id, FirmTier.tier == filters.tier)
        )
    if filters.track:
        query = query.where(_holds(at, Certification.track == filters.track))
    if filters.certification:
        query = query.where(_holds(at, Certification.code == filters.certification))
    return query


def _usable(filters: Filters) -> bool:
    """Whether every filter is text a database can compare (anything else matches nothing)."""
    return all(is_storable(value) for _, value in filters.query_items())


def list_directory(db: Session, filters: Filters, at: datetime) -> DirectoryPage:
    """One page of listed firms matching ``filters``: higher tiers first, then more people."""
    page = min(max(filters.page, 1), MAX_PAGE)
    if not _usable(filters):
        return DirectoryPage([], page, has_next=False)
    schemes = schemes_in_force(db, at)
    rank_rows = (
        select(FirmTier.partner_id.label("partner_id"), func.max(_rank_of(schemes)).label("rank"))
        .where(FirmTier.tier.is_not(None))
        .group_by(FirmTier.partner_id)
        .subquery()
    )
    if db.scalar(select(FirmHeadcount.partner_id).limit(1)) is not None:
        people = FirmHeadcount.__table__  # as the worker last counted them
        count = func.coalesce(people.c.certified_people, 0)
    else:
        # Never counted yet (a new deployment, or no certified people at all): live.
        people = _live_people(at).subquery()
        count = func.coalesce(people.c.people, 0)
    rank = func.coalesce(rank_rows.c.rank, 0)
    query = (
        select(Partner)
        .outerjoin(rank_rows, rank_rows.c.partner_id == Partner.id)
        .outerjoin(people, people.c.partner_id == Partner.id)
        .where(shown())
        .order_by(rank.desc(), count.desc(), Partner.name, Partner.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    partners = list(db.scalars(_filtered(query, filters, at)))
    shown_now = partners[:PAGE_SIZE]
    live = {
        partner_id: int(people_count)
        for partner_id, people_count in db.execute(_live_people(at, [p.id for p in shown_now]))
    }
    entries = [_entry(partner, live.get(partner.id, 0)) for partner in shown_now]
    _fill(db, entries, schemes, at)
    return DirectoryPage(entries, page, has_next=len(partners) > PAGE_SIZE)


def _entry(partner: Partner, people: int) -> FirmEntry:
    return FirmEntry(
        id=partner.id,
        name=partner.name,
        slug=partner.slug or partner.id,
        type=partner.type,
        country=partner.country,
        regions=partner.regions,
        blurb=partner.blurb,
        website=partner.website,
        certified_people=int(people),
    )


def _fill(
    db: Session, entries: list[FirmEntry], schemes: Sequence[SchemeInForce], at: datetime
) -> None:
    """Tiers and certification counts of ``entries``: two statements for all of them."""
    if not entries:
        return
    by_id = {entry.id: entry for entry in entries}
    tiers: dict[tuple[str, str], Tier] = {
        (found.program, tier.key): tier for found in schemes for tier in found.scheme.tiers
    }
    tier_rows = select(FirmTier.partner_id, FirmTier.program, FirmTier.tier, FirmTier.badge_id)
    tier_rows = tier_rows.where(FirmTier.partner_id.in_(by_id), FirmTier.tier.is_not(None))
    for partner_id, program, key, badge_id in db.execute(tier_rows):
        tier = tiers.get((program, key or ""))
        if tier is not None:
            by_id[partner_id].tiers.append(
                HeldTier(program, tier.key, tier.name, tier.rank, badge_id)
            )
    counts = (
        select(
            Person.partner_id,
            Certification.code,
            Certification.name,
            Certification.track,
            func.count(Award.person_id.distinct()),
        )
        .select_from(Award)
        .join(Person, Person.id == Award.person_id)
        .join(Certification, Certification.id == Award.certification_id)
        .where(active_award(at), Person.partner_id.in_(by_id))
        .group_by(Person.partner_id, Certification.code, Certification.name, Certification.track)
    )
    for holder_firm, code, name, track, people in db.execute(counts):
        if holder_firm is None:
            continue
        by_id[holder_firm].certifications.append(CertifiedCount(code, name, track, int(people)))
    for entry in entries:
        entry.tiers.sort(key=lambda tier: -tier.rank)
        entry.certifications.sort(key=lambda item: (-item.people, item.name))


def firm_profile(db: Session, slug: str, at: datetime) -> FirmProfile:
    """A listed firm's profile by its slug; :class:`NotFound` unless the directory shows it."""
    partner = (
        db.scalar(select(Partner).where(Partner.slug == slug, shown()))
        if is_storable(slug)
        else None
    )
    if partner is None:
        raise NotFound(f"no listed partner at {slug[:80]!r}")
    entry = _entry(partner, _headcount(db, partner.id, at))
    _fill(db, [entry], schemes_in_force(db, at), at)
    return FirmProfile(entry, _named_holders(db, partner.id, at))


def _headcount(db: Session, partner_id: str, at: datetime) -> int:
    query = (
        select(func.count(Award.person_id.distinct()))
        .join(Person, Person.id == Award.person_id)
        .where(active_award(at), Person.partner_id == partner_id)
    )
    return int(db.scalar(query) or 0)


def name_shown() -> ColumnElement[bool]:
    """A holder's choice to be named: per award, or else for all their badges."""
    return or_(
        Award.show_holder_name.is_(True),
        and_(Award.show_holder_name.is_(None), Person.show_name_publicly.is_(True)),
    )


def _named_holders(db: Session, partner_id: str, at: datetime) -> list[NamedHolder]:
    query = (
        select(Person.given_name, Person.family_name, Certification.name, IssuedCredential.id)
        .select_from(Award)
        .join(Person, Person.id == Award.person_id)
        .join(Certification, Certification.id == Award.certification_id)
        .outerjoin(
            IssuedCredential,
            and_(
                IssuedCredential.award_id == Award.id,
                IssuedCredential.superseded_by_id.is_(None),
                IssuedCredential.status == CredentialStatus.ACTIVE.value,
            ),
        )
        .where(active_award(at), Person.partner_id == partner_id, name_shown())
        .order_by(Person.family_name, Person.given_name, Certification.name)
    )
    return [
        NamedHolder(f"{given} {family}".strip(), certification, credential_id)
        for given, family, certification, credential_id in db.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class PublicFirm:
    """A firm's public identity, as its badges name it (``/partners/<id>``)."""

    id: str
    name: str
    active: bool
    slug: str | None
    tiers: list[HeldTier]


def public_firm(db: Session, partner_id: str, at: datetime) -> PublicFirm:
    """The firm a firm badge names, whether listed or not: its name is in the badge already."""
    partner = db.get(Partner, partner_id) if is_storable(partner_id) else None
    if partner is None:
        raise NotFound(f"partner {partner_id[:60]} not found")
    entry = _entry(partner, 0)
    _fill(db, [entry], schemes_in_force(db, at), at)
    listed = db.scalar(select(Partner.id).where(Partner.id == partner.id, shown())) is not None
    return PublicFirm(
        id=partner.id,
        name=partner.name,
        active=partner.status == PartnerStatus.ACTIVE.value,
        slug=partner.slug if listed else None,
        tiers=entry.tiers,
    )


LIVE_STATUSES_STORED = [status.value for status in LIVE_STATUSES]
"""The statuses of the awards ``uq_awards_live_person`` and ``ix_awards_live_until`` index."""


def holders_of(db: Session, certification_id: str, at: datetime) -> int:
    """How many people hold the certification at ``at``: people with an active award of it
    that has not ended (:func:`active_award`).

    A person holds at most one active or suspended award of a certification (the database's
    ``uq_awards_live_person``), so this counts awards, not distinct people, and reads indexes
    alone: the people with a live award (that unique index), less the suspended awards, less
    the active ones past their end (``ix_awards_live_until``). Awards are issued at the time
    they are made, so none is issued after ``at``; with 200,000 holders this is 35 ms where
    counting distinct people over their rows took 230.
    """
    of_it = (Award.certification_id == certification_id, Award.person_id.is_not(None))
    live = db.scalar(select(func.count()).where(*of_it, Award.status.in_(LIVE_STATUSES_STORED)))
    suspended = db.scalar(
        select(func.count()).where(*of_it, Award.status == AwardStatus.SUSPENDED.value)
    )
    ended = db.scalar(
        select(func.count()).where(
            *of_it,
            Award.status.in_(LIVE_STATUSES_STORED),
            Award.status == AwardStatus.ACTIVE.value,
            Award.valid_until <= at,
        )
    )
    return int(live or 0) - int(suspended or 0) - int(ended or 0)


def firms_holding(db: Session, program: str, tier: str) -> int:
    """How many firms hold a tier now."""
    query = (
        select(func.count())
        .select_from(FirmTier)
        .where(FirmTier.program == program, FirmTier.tier == tier)
    )
    return int(db.scalar(query) or 0)


def criteria_versions(db: Session, certification_id: str) -> list[CriteriaVersion]:
    """A certification's criteria versions, newest first."""
    query = (
        select(CriteriaVersion)
        .where(CriteriaVersion.certification_id == certification_id)
        .order_by(CriteriaVersion.version.desc())
    )
    return list(db.scalars(query))


@dataclass(frozen=True, slots=True)
class SitemapEntries:
    """What the sitemap lists besides the directory itself."""

    firm_slugs: list[str]
    certification_codes: list[str]
    tiers: list[tuple[str, str]]


def sitemap_entries(db: Session, at: datetime) -> SitemapEntries:
    """Listed firms' slugs, certification codes and tiers in force, each in a stable order."""
    slugs = db.scalars(
        select(Partner.slug).where(shown(), Partner.slug.is_not(None)).order_by(Partner.slug)
    )
    codes = db.scalars(select(Certification.code).order_by(Certification.code))
    tiers = [
        (found.program, tier.key)
        for found in schemes_in_force(db, at)
        for tier in found.scheme.tiers
    ]
    return SitemapEntries([slug for slug in slugs if slug], list(codes), tiers)
