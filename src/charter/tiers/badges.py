"""Firm badges: a tier held by a firm, as a signed Open Badges 3.0 credential.

The firm is the subject, named by its public identity (its page URL and its name) rather than
anyone's email; the tier is the achievement. The document is built by the same OB 3.0 builder
as a person's badge, signed with the issuer's active key (``eddsa-rdfc-2022``), checked against
the OB 3.0 schema and JSON-LD safe mode, and carries a revocation entry on Charter's status
lists, so any verifier (Charter's own included) sees a revoked firm badge as revoked.

A firm badge's ``id`` is its public page, ``/credentials/<id>``, as a person's badge's is: the
same page, JSON, baked images and embed widget serve both (:mod:`charter.web.public`). The
signed JSON is also served at ``/api/v1/tier-badges/<id>``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core import clock, events
from charter.core.auth import Principal
from charter.core.errors import FieldError, Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.credentials import documents, ob3, proofs, status, statuslist
from charter.credentials.models import StatusList
from charter.crypto import keyring
from charter.crypto.keyring import Signer
from charter.db.engine import settings_of
from charter.tiers import rules
from charter.tiers.enums import BadgeStatus
from charter.tiers.models import TierBadge
from charter.tiers.rules import Tier

BADGE_PREFIX = "tbg"


def badge_url(settings: Settings, badge_id: str) -> str:
    """The public URL (and OB ``id``) of a firm badge: its page, ``/credentials/<id>``."""
    return documents.credential_url(settings, badge_id)


def firm_url(settings: Settings, partner_id: str) -> str:
    """The firm's public identity in its badges."""
    return f"{settings.public_url.rstrip('/')}/partners/{quote(partner_id, safe='')}"


def tier_achievement_url(settings: Settings, program: str, tier_key: str) -> str:
    """The OB ``Achievement.id`` of a tier."""
    base = settings.public_url.rstrip("/")
    return f"{base}/tiers/{quote(program, safe='')}/{quote(tier_key, safe='')}"


def tier_achievement(
    settings: Settings, program: str, tier: Tier, scheme_version: int
) -> ob3.AchievementInfo:
    """The OB Achievement of a tier in one scheme version."""
    achievement_id = tier_achievement_url(settings, program, tier.key)
    return ob3.AchievementInfo(
        id=achievement_id,
        name=tier.name,
        description=tier.description or f"{tier.name} partner tier",
        criteria_narrative=_criteria(tier),
        criteria_url=f"{achievement_id}#criteria",
        version=str(scheme_version),
    )


def tier_achievement_document(
    settings: Settings, program: str, tier: Tier, scheme_version: int
) -> dict[str, Any]:
    """The tier's ``Achievement`` as served at its ``id``: as a firm badge embeds it."""
    document = ob3.achievement_document(tier_achievement(settings, program, tier, scheme_version))
    document["achievementType"] = "Membership"
    return document


def _criteria(tier: Tier) -> str:
    needed = rules.describe(tier)
    return f"Partner tier {tier.name}" + (": " + "; ".join(needed) if needed else "") + "."


def build_firm_credential(
    *,
    credential_id: str,
    issuer: ob3.IssuerProfile,
    program: str,
    tier: Tier,
    scheme_version: int,
    partner_id: str,
    partner_name: str,
    settings: Settings,
    valid_from: datetime,
    status_entry: dict[str, str],
) -> dict[str, Any]:
    """An unsigned OB 3.0 credential saying that the firm holds ``tier``."""
    # The person builder with a throwaway identity, whose subject is then replaced by the firm:
    # everything else (issuer, achievement, dates, status) is built exactly as for a person.
    document = ob3.build_credential(
        credential_id=credential_id,
        issuer=issuer,
        achievement=tier_achievement(settings, program, tier, scheme_version),
        subject=ob3.SubjectInfo(email="firm@invalid", salt=secrets.token_hex(4)),
        valid_from=valid_from,
        valid_until=None,
        status_entries=[status_entry],
    )
    achievement = document["credentialSubject"]["achievement"]
    achievement["achievementType"] = "Membership"
    document["credentialSubject"] = {
        "id": firm_url(settings, partner_id),
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": partner_name,
            }
        ],
        "achievement": achievement,
    }
    return document


@dataclass(frozen=True, slots=True)
class BadgeRequest:
    """A firm badge to issue: which firm, which program and tier."""

    partner_id: str
    partner_name: str
    program: str
    tier: Tier
    scheme_version: int


def issue_firm_badges(
    db: Session, actor: Principal, requests: Sequence[BadgeRequest]
) -> list[TierBadge]:
    """Sign and store many firm badges at once: one key lookup, one status allocation."""
    if not requests:
        return []
    settings = settings_of(db)
    signer = keyring.active_signer(db, settings)
    issuer = documents.issuer_profile(settings, signer.controller)
    indexes = status.allocate_many(db, "revocation", len(requests), controller=signer.controller)
    now = clock.now()
    created = [
        _signed_badge(request, status_list, index, settings, signer, issuer, now)
        for request, (status_list, index) in zip(requests, indexes, strict=True)
    ]
    db.add_all(created)
    db.flush()
    events.append_many(
        db,
        actor,
        [
            events.Draft(
                "tier_badge.issued",
                "tier_badge",
                badge.id,
                {
                    "program": badge.program,
                    "tier": badge.tier,
                    "tier_name": badge.tier_name,
                    "revocation_list_id": badge.revocation_list_id,
                    "revocation_index": badge.revocation_index,
                },
                badge.partner_id,
            )
            for badge in created
        ],
    )
    return created


def _signed_badge(
    request: BadgeRequest,
    status_list: StatusList,
    index: int,
    settings: Settings,
    signer: Signer,
    issuer: ob3.IssuerProfile,
    now: datetime,
) -> TierBadge:
    """One firm badge, built, checked against OB 3.0 and signed (not stored yet)."""
    badge_id = new_id(BADGE_PREFIX)
    entry = statuslist.status_entry(status.list_url(settings, status_list.id), index, "revocation")
    try:
        document = build_firm_credential(
            credential_id=badge_url(settings, badge_id),
            issuer=issuer,
            program=request.program,
            tier=request.tier,
            scheme_version=request.scheme_version,
            partner_id=request.partner_id,
            partner_name=request.partner_name,
            settings=settings,
            valid_from=now,
            status_entry=entry,
        )
    except ValueError as error:
        raise Invalid(f"cannot build the firm badge: {error}") from None
    problems = ob3.validate_credential(document)
    if problems:
        raise Invalid(
            "refusing to sign a firm badge that does not conform to Open Badges 3.0: "
            + "; ".join(problems),
            [FieldError(*problem.split(": ", 1)) for problem in problems],
        )
    # create_proof runs the JSON-LD safe-mode check and refuses undefined terms.
    signed = proofs.create_proof(document, signer.private_key, signer.verification_method, now)
    return TierBadge(
        id=badge_id,
        partner_id=request.partner_id,
        program=request.program,
        tier=request.tier.key,
        tier_name=request.tier.name,
        scheme_version=request.scheme_version,
        document=json.dumps(signed, ensure_ascii=False, separators=(",", ":")),
        signing_key_id=signer.key_id,
        verification_method=signer.verification_method,
        issued_at=now,
        revocation_list_id=status_list.id,
        revocation_index=index,
        status=BadgeStatus.ACTIVE.value,
        status_reason=None,
        status_changed_at=None,
    )


def revoke_firm_badge(db: Session, actor: Principal, *, badge: TierBadge, reason: str) -> bool:
    """Revoke a firm badge: its bit in the revocation list is set at once; False if it was."""
    if badge.status == BadgeStatus.REVOKED.value:
        return False
    badge.status = BadgeStatus.REVOKED.value
    badge.status_reason = reason
    badge.status_changed_at = clock.now()
    status.set_bit(db, badge.revocation_list_id, badge.revocation_index, True)
    db.flush()
    events.append(
        db,
        actor,
        "tier_badge.revoked",
        badge,
        partner_id=badge.partner_id,
        program=badge.program,
        tier=badge.tier,
        reason=reason,
    )
    return True


def live_badges(db: Session, *, partner_id: str) -> list[TierBadge]:
    """A firm's badges that are not revoked, oldest first."""
    query = (
        select(TierBadge)
        .where(TierBadge.partner_id == partner_id, TierBadge.status == BadgeStatus.ACTIVE.value)
        .order_by(TierBadge.issued_at, TierBadge.id)
    )
    return list(db.scalars(query))


def get_badge(db: Session, badge_id: str) -> TierBadge:
    """A firm badge by id (public: badges are meant to be shown)."""
    found = db.get(TierBadge, badge_id) if is_id(badge_id, BADGE_PREFIX) else None
    if found is None:
        raise NotFound(f"firm badge {badge_id[:60]} not found")
    return found
