"""Agreement templates, their versions, and firms signing them.

A template's terms live in versions: a change is a new version, in force from its effective
date, never an edit, so what a firm signed stays exactly what it signed. Publishing a new
version names, in its event, the firms holding an agreement on the template, whom the notices
tell. A firm signs one version; signing a newer version of the same template supersedes its
agreement on the older one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import Conflict, Invalid, NotFound, RequirementsNotMet
from charter.core.ids import is_id, new_id
from charter.core.pagination import DEFAULT_LIMIT, Page, check_cursor, paginate_rows
from charter.core.text import text_filter
from charter.db.unique import insert_unique
from charter.licensing import products, rules
from charter.licensing.enums import AgreementStatus
from charter.licensing.models import Agreement, AgreementTemplate, AgreementVersion
from charter.licensing.schemas import AgreementSign, TemplateCreate, VersionCreate
from charter.partners import service as partners
from charter.partners import taxonomy
from charter.partners.enums import PartnerStatus, TaxonomyKind
from charter.programs.models import Certification
from charter.tiers import standings
from charter.tiers.models import TierScheme
from charter.tiers.state import read_firms, read_states

# Firms that may sign: an agreement is part of onboarding, and a suspended or terminated firm
# takes on no new obligations.
SIGNING_STATUSES = frozenset(
    {PartnerStatus.APPLICANT.value, PartnerStatus.ONBOARDING.value, PartnerStatus.ACTIVE.value}
)


def template_row(
    db: Session, template_id: str, *, lock: bool = False, field: str | None = None
) -> AgreementTemplate:
    """The template; :class:`NotFound`, or :class:`Invalid` naming ``field``, when unknown."""
    found = None
    if is_id(template_id, "agt"):
        query = select(AgreementTemplate).where(AgreementTemplate.id == template_id)
        if lock:
            query = query.with_for_update()
        found = db.scalar(query)
    if found is None:
        if field is not None:
            raise Invalid.field(field, f"no agreement template with id {template_id}")
        raise NotFound(f"agreement template {template_id} not found")
    return found


def versions_of(db: Session, template_id: str) -> list[AgreementVersion]:
    """Every version of a template, oldest first."""
    query = (
        select(AgreementVersion)
        .where(AgreementVersion.template_id == template_id)
        .order_by(AgreementVersion.version)
    )
    return list(db.scalars(query))


def in_force(versions: Sequence[AgreementVersion], at: datetime) -> AgreementVersion | None:
    """The version in force at ``at``: the latest one whose effective date has come."""
    due = [version for version in versions if version.effective_from <= at]
    return max(due, key=lambda v: (v.effective_from, v.version), default=None)


def _check_version(db: Session, data: VersionCreate, *, feature_keys: list[str]) -> None:
    """Refuse terms naming features the product lacks, or requirements naming unknown things."""
    offered = set(feature_keys)
    for position, key in enumerate(data.terms.features):
        if key not in offered:
            raise Invalid.field(f"terms.features.{position}", f"the product has no feature {key}")
    taxonomy.require_codes(
        db, TaxonomyKind.REGION, "terms.territory.regions", data.terms.territory.regions
    )
    needs = data.requirements
    taxonomy.require_codes(
        db, TaxonomyKind.TRACK, "requirements.min_certified_by_track", needs.min_certified_by_track
    )
    codes = needs.certification_codes()
    known = set(db.scalars(select(Certification.code).where(Certification.code.in_(sorted(codes)))))
    for code in needs.min_certified_by_certification:
        if code not in known:
            raise Invalid.field(
                f"requirements.min_certified_by_certification.{code}",
                f"no certification with code {code}",
            )
    for position, code in enumerate(needs.required_certifications):
        if code not in known:
            raise Invalid.field(
                f"requirements.required_certifications.{position}",
                f"no certification with code {code}",
            )
    if needs.min_tier is not None:
        tiers = db.scalars(select(TierScheme.tiers).where(TierScheme.program == needs.program))
        keys = {str(tier.get("key")) for scheme in tiers for tier in scheme}
        if needs.min_tier not in keys:
            raise Invalid.field(
                "requirements.min_tier",
                f"no tier {needs.min_tier} in any scheme of program {needs.program}",
            )


def _version_event(
    db: Session,
    actor: Principal,
    template: AgreementTemplate,
    version: AgreementVersion,
    *,
    previous: AgreementVersion | None,
    partner_ids: list[str],
) -> None:
    events.append(
        db,
        actor,
        "agreement.version_published",
        version,
        template_id=template.id,
        template_code=template.code,
        template_name=template.name,
        version=version.version,
        effective_from=version.effective_from,
        previous_version=previous.version if previous else None,
        summary=version.summary,
        partner_ids=partner_ids,
    )


def create_template(db: Session, actor: Principal, *, data: TemplateCreate) -> AgreementTemplate:
    """Create an agreement template for a product with its first version."""
    actor.require(Permission.AGREEMENTS_MANAGE)
    product = products.product_row(db, data.product_id, field="product_id")
    conflict = f"an agreement template with code {data.code} already exists"
    if db.scalar(select(AgreementTemplate.id).where(AgreementTemplate.code == data.code)):
        raise Conflict(conflict)
    try:
        _check_version(db, data.version, feature_keys=products.feature_keys(product))
    except Invalid as error:
        raise _prefixed(error, "version") from None
    now = clock.now()
    template = AgreementTemplate(
        id=new_id("agt"), code=data.code, name=data.name, product_id=product.id
    )
    insert_unique(db, template, conflict)
    version = _new_version(template, data.version, number=1, now=now)
    db.add(version)
    db.flush()
    events.append(
        db,
        actor,
        "agreement_template.created",
        template,
        code=template.code,
        name=template.name,
        product_id=product.id,
        version_id=version.id,
    )
    _version_event(db, actor, template, version, previous=None, partner_ids=[])
    return template


def _prefixed(error: Invalid, prefix: str) -> Invalid:
    fields = [(f"{prefix}.{item.field}", item.detail) for item in error.errors]
    first = fields[0] if fields else (prefix, error.detail)
    return Invalid.field(*first)


def _new_version(
    template: AgreementTemplate, data: VersionCreate, *, number: int, now: datetime
) -> AgreementVersion:
    return AgreementVersion(
        id=new_id("agv"),
        template_id=template.id,
        version=number,
        effective_from=data.effective_from or now,
        summary=data.summary,
        terms=data.terms.model_dump(mode="json"),
        requirements=data.requirements.model_dump(mode="json"),
        created_at=now,
    )


def publish_version(
    db: Session, actor: Principal, *, template_id: str, data: VersionCreate
) -> AgreementVersion:
    """Publish a new version of a template, in force from ``effective_from`` (now).

    Never dated before the latest version: the history of what firms were offered when is not
    rewritten. Firms with an agreement on the template are named in the event, and told.
    """
    actor.require(Permission.AGREEMENTS_MANAGE)
    template = template_row(db, template_id, lock=True)
    product = products.product_row(db, template.product_id)
    _check_version(db, data, feature_keys=products.feature_keys(product))
    now = clock.now()
    versions = versions_of(db, template.id)
    latest = max(versions, key=lambda v: (v.effective_from, v.version), default=None)
    effective_from = data.effective_from or now
    if latest is not None and effective_from < latest.effective_from:
        raise Invalid.field(
            "effective_from",
            f"must not be before {latest.effective_from.isoformat()}, when version "
            f"{latest.version} takes effect",
        )
    number = max((v.version for v in versions), default=0) + 1
    version = _new_version(template, data, number=number, now=now)
    insert_unique(db, version, "another version was published at the same time; retry")
    affected = sorted(
        set(
            db.scalars(
                select(Agreement.partner_id).where(
                    Agreement.template_id == template.id,
                    Agreement.status == AgreementStatus.ACTIVE.value,
                )
            )
        )
    )
    _version_event(db, actor, template, version, previous=latest, partner_ids=affected)
    return version


def get_template(db: Session, actor: Principal, *, template_id: str) -> AgreementTemplate:
    """A template; the catalogue is open to everyone who reads licensing."""
    actor.require(Permission.LICENSES_READ)
    return template_row(db, template_id)


def list_templates(
    db: Session,
    actor: Principal,
    *,
    product_id: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[dict[str, Any]]:
    """Templates, oldest first, optionally of one product."""
    actor.require(Permission.LICENSES_READ)
    check_cursor(cursor)
    product_id = text_filter(product_id, "product_id")
    query = select(*AgreementTemplate.__table__.columns)
    if product_id is not None:
        query = query.where(AgreementTemplate.product_id == product_id)
    return paginate_rows(db, query, AgreementTemplate.id, cursor=cursor, limit=limit)


def list_versions(
    db: Session, actor: Principal, *, template_id: str
) -> list[tuple[AgreementVersion, bool]]:
    """Every version of a template, oldest first, with whether it is the one in force."""
    actor.require(Permission.LICENSES_READ)
    template = template_row(db, template_id)
    versions = versions_of(db, template.id)
    current = in_force(versions, clock.now())
    return [(version, version is current) for version in versions]


def _version_to_sign(
    versions: Sequence[AgreementVersion], wanted: int | None, now: datetime
) -> AgreementVersion:
    current = in_force(versions, now)
    if wanted is None:
        if current is None:
            raise Invalid.field("template_id", "no version of this template is in force yet")
        return current
    found = next((version for version in versions if version.version == wanted), None)
    if found is None:
        raise Invalid.field("version", f"the template has no version {wanted}")
    if current is not None and (found.effective_from, found.version) < (
        current.effective_from,
        current.version,
    ):
        raise Invalid.field(
            "version", f"version {wanted} is out of date: version {current.version} is in force"
        )
    return found


def check_requirements(
    db: Session, *, partner_id: str, requirements: rules.Requirements, at: datetime
) -> list[str]:
    """What the firm lacks, at ``at``, to meet ``requirements`` (``[]``: nothing)."""
    held = standings.held_tiers(db, partner_id=partner_id, at=at).get(requirements.program)
    firms = read_firms(db, [partner_id])
    state = read_states(db, firms, requirements.certification_codes(), at, scoped=True)
    return rules.unmet_requirements(
        requirements,
        state=state[partner_id],
        scheme=held.scheme.scheme if held is not None else None,
        held=held.tier.key if held is not None and held.tier is not None else None,
    )


def sign_agreement(
    db: Session, actor: Principal, *, partner_id: str, data: AgreementSign
) -> Agreement:
    """Record that a firm signs a template's version; it must meet the version's requirements.

    An agreement the firm holds on an older version of the same template is superseded.
    """
    actor.require(Permission.AGREEMENTS_SIGN)
    # Locking the firm serializes its signatures: two at once cannot both supersede one.
    partner = partners.scoped_partner(db, actor, partner_id, lock=True)
    if partner.status not in SIGNING_STATUSES:
        raise Conflict(f"partner {partner.name} is {partner.status} and cannot sign agreements")
    template = template_row(db, data.template_id, field="template_id")
    now = clock.now()
    version = _version_to_sign(versions_of(db, template.id), data.version, now)
    requirements = rules.Requirements.model_validate(version.requirements)
    unmet = check_requirements(db, partner_id=partner.id, requirements=requirements, at=now)
    if unmet:
        raise RequirementsNotMet(
            f"{partner.name} does not meet the requirements of {template.name} "
            f"version {version.version}: {'; '.join(unmet)}",
            unmet,
        )
    held = list(
        db.scalars(
            select(Agreement).where(
                Agreement.partner_id == partner.id,
                Agreement.template_id == template.id,
                Agreement.status == AgreementStatus.ACTIVE.value,
            )
        )
    )
    if any(agreement.version >= version.version for agreement in held):
        raise Conflict(
            f"{partner.name} already signed {template.name} version "
            f"{max(agreement.version for agreement in held)}"
        )
    agreement = Agreement(
        id=new_id("agr"),
        partner_id=partner.id,
        template_id=template.id,
        version_id=version.id,
        version=version.version,
        status=AgreementStatus.ACTIVE.value,
        signer_name=data.signer_name,
        signer_email=data.signer_email,
        signer_title=data.signer_title,
        signed_by=actor.id,
        signed_at=now,
        superseded_at=None,
        superseded_by=None,
    )
    db.add(agreement)
    for older in held:
        older.status = AgreementStatus.SUPERSEDED.value
        older.superseded_at = now
        older.superseded_by = agreement.id
    db.flush()
    events.append(
        db,
        actor,
        "agreement.signed",
        agreement,
        partner_id=partner.id,
        template_id=template.id,
        template_code=template.code,
        version=version.version,
        version_id=version.id,
        signer_name=agreement.signer_name,
        signer_email=agreement.signer_email,
        signer_title=agreement.signer_title,
        supersedes=[older.id for older in held],
    )
    return agreement


def agreement_row(
    db: Session, actor: Principal, agreement_id: str, *, field: str | None = None
) -> Agreement:
    """The agreement within the caller's partner scope; :class:`NotFound` or :class:`Invalid`."""
    found = db.get(Agreement, agreement_id) if is_id(agreement_id, "agr") else None
    if found is None or (
        actor.partner_scope is not None and found.partner_id != actor.partner_scope
    ):
        if field is not None:
            raise Invalid.field(field, f"no agreement with id {agreement_id}")
        raise NotFound(f"agreement {agreement_id} not found")
    return found


def get_agreement(db: Session, actor: Principal, *, agreement_id: str) -> Agreement:
    """A signed agreement; partner users see their own firm's only."""
    actor.require(Permission.LICENSES_READ)
    return agreement_row(db, actor, agreement_id)


def list_agreements(
    db: Session,
    actor: Principal,
    *,
    partner_id: str | None = None,
    template_id: str | None = None,
    status: AgreementStatus | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[dict[str, Any]]:
    """Signed agreements, oldest first; partner users see their own firm's only."""
    actor.require(Permission.LICENSES_READ)
    check_cursor(cursor)
    partner_id = text_filter(partner_id, "partner_id")
    template_id = text_filter(template_id, "template_id")
    scope = actor.partner_scope
    if scope is not None and partner_id is not None and partner_id != scope:
        return Page([], None)
    query = select(*(column for column in Agreement.__table__.columns))
    firm = scope or partner_id
    if firm is not None:
        query = query.where(Agreement.partner_id == firm)
    if template_id is not None:
        query = query.where(Agreement.template_id == template_id)
    if status is not None:
        query = query.where(Agreement.status == status.value)
    return paginate_rows(db, query, Agreement.id, cursor=cursor, limit=limit)
