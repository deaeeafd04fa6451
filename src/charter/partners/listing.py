"""A firm's public directory listing: whether it is listed, its slug, blurb and website.

The directory shows a firm only while it is active and listed; suspension or termination
hides it at once, with nothing to undo here. Partner admins edit their own firm's listing,
program staff any firm's (both hold ``partners:write``; the partner scope confines the first).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict
from charter.db.engine import settings_of
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner
from charter.partners.schemas import MAX_SLUG_LENGTH, ListingOut, ListingUpdate
from charter.partners.service import scoped_partner

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug_of(name: str) -> str:
    """A URL slug from a firm's name: accents dropped, lower-case, words joined by hyphens.

    A name with no Latin letter or digit at all gets ``firm``; callers make it unique.
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", folded.lower()).strip("-")[: MAX_SLUG_LENGTH - 13].strip("-")
    return slug or "firm"


def is_shown(partner: Partner) -> bool:
    """Whether the directory shows the firm now: listed by its choice, and active."""
    return partner.listed and partner.status == PartnerStatus.ACTIVE.value


def _slug_taken(db: Session, slug: str, partner_id: str) -> bool:
    query = select(Partner.id).where(Partner.slug == slug, Partner.id != partner_id)
    return db.scalar(query) is not None


def _free_slug(db: Session, partner: Partner) -> str:
    """The name's slug, or with a short random suffix when another firm has it."""
    base = slug_of(partner.name)
    if not _slug_taken(db, base, partner.id):
        return base
    while True:
        candidate = f"{base}-{secrets.token_hex(4)}"
        if not _slug_taken(db, candidate, partner.id):
            return candidate


def update_listing(
    db: Session, actor: Principal, *, partner_id: str, data: ListingUpdate
) -> Partner:
    """Change a firm's listing; a listed firm without a slug gets one from its name."""
    actor.require(Permission.PARTNERS_WRITE)
    partner = scoped_partner(db, actor, partner_id, lock=True)
    given = data.model_fields_set
    changes: dict[str, dict[str, Any]] = {}

    def change(field: str, old: Any, new: Any) -> None:
        if old != new:
            changes[field] = {"from": old, "to": new}
            setattr(partner, field, new)

    if "listed" in given and data.listed is not None:
        change("listed", partner.listed, data.listed)
    if "blurb" in given:
        change("blurb", partner.blurb, data.blurb)
    if "website" in given:
        change("website", partner.website, data.website)
    if "slug" in given:
        if data.slug is None:
            change("slug", partner.slug, _free_slug(db, partner))
        elif data.slug != partner.slug:
            if _slug_taken(db, data.slug, partner.id):
                raise Conflict(f"another firm's profile is at {data.slug!r}", field="slug")
            change("slug", partner.slug, data.slug)
    if partner.listed and partner.slug is None:
        change("slug", None, _free_slug(db, partner))
    if not changes:
        return partner
    db.flush()
    events.append(
        db, actor, "partner.listing_updated", partner, partner_id=partner.id, changes=changes
    )
    return partner


def profile_url(public_url: str, slug: str) -> str:
    """A firm's public profile: ``<public_url>/directory/<slug>``."""
    return f"{public_url.rstrip('/')}/directory/{quote(slug, safe='')}"


def listing_out(db: Session, partner: Partner) -> ListingOut:
    """The firm's listing as the API shows it."""
    shown = is_shown(partner)
    return ListingOut(
        partner_id=partner.id,
        listed=partner.listed,
        shown=shown,
        slug=partner.slug,
        blurb=partner.blurb,
        website=partner.website,
        profile_url=profile_url(settings_of(db).public_url, partner.slug)
        if shown and partner.slug
        else None,
    )
