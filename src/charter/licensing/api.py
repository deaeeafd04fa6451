"""Licensing over HTTP: products, agreement templates, signed agreements and licenses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.core.schemas import Page
from charter.deps import CurrentPrincipal, Cursor, DbSession, Limit, api_router, get_principal
from charter.licensing import agreements, products, service, usage
from charter.licensing.enums import AgreementStatus, LicenseStatus
from charter.licensing.models import Agreement, AgreementTemplate, AgreementVersion, License
from charter.licensing.schemas import (
    AgreementOut,
    AgreementSign,
    LicenseCreate,
    LicenseIssued,
    LicenseKeyOut,
    LicenseOut,
    LicenseReason,
    LicenseRenew,
    ProductCreate,
    ProductOut,
    TemplateCreate,
    TemplateOut,
    VersionCreate,
    VersionOut,
)
from charter.licensing.usage_schemas import UsageBatch, UsageReceipt, UsageRollupOut
from charter.tiers.rules import Key

router = api_router()

IdQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
PartnerId = Annotated[str, Path(min_length=1, max_length=40, description="A partner id (prt_…)")]
ProductId = Annotated[str, Path(min_length=1, max_length=40, description="A product id (prd_…)")]
TemplateId = Annotated[
    str, Path(min_length=1, max_length=40, description="An agreement template id (agt_…)")
]
AgreementId = Annotated[
    str, Path(min_length=1, max_length=40, description="A signed agreement id (agr_…)")
]
LicenseId = Annotated[str, Path(min_length=1, max_length=40, description="A license id (lic_…)")]


def _license_out(license: License) -> LicenseOut:
    out = LicenseOut.model_validate(license)
    out.status = service.status_of(license)
    return out


def _version_out(version: AgreementVersion, in_force: bool) -> VersionOut:
    out = VersionOut.model_validate(version)
    out.in_force = in_force
    return out


def _page(model: Any, page: Any) -> Any:
    return Page(
        items=[model.model_validate(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.post("/products", status_code=201, response_model=ProductOut, tags=["licensing"])
def create_product(body: ProductCreate, db: DbSession, actor: CurrentPrincipal) -> ProductOut:
    """Create a product with its licensable features."""
    return ProductOut.model_validate(products.create_product(db, actor, data=body))


@router.get("/products", response_model=Page[ProductOut], tags=["licensing"])
def list_products(
    db: DbSession, actor: CurrentPrincipal, cursor: Cursor = None, limit: Limit = 50
) -> Page[ProductOut]:
    """Products, oldest first."""
    result: Page[ProductOut] = _page(
        ProductOut, products.list_products(db, actor, cursor=cursor, limit=limit)
    )
    return result


@router.get("/products/{product_id}", response_model=ProductOut, tags=["licensing"])
def get_product(product_id: ProductId, db: DbSession, actor: CurrentPrincipal) -> ProductOut:
    """One product."""
    return ProductOut.model_validate(products.get_product(db, actor, product_id=product_id))


@router.post(
    "/agreement-templates", status_code=201, response_model=TemplateOut, tags=["licensing"]
)
def create_template(
    body: TemplateCreate, db: DbSession, actor: CurrentPrincipal
) -> AgreementTemplate:
    """Create an agreement template for a product, with its first version."""
    return agreements.create_template(db, actor, data=body)


@router.get("/agreement-templates", response_model=Page[TemplateOut], tags=["licensing"])
def list_templates(
    db: DbSession,
    actor: CurrentPrincipal,
    product_id: IdQuery = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[TemplateOut]:
    """Agreement templates, oldest first, optionally of one product."""
    page = agreements.list_templates(db, actor, product_id=product_id, cursor=cursor, limit=limit)
    result: Page[TemplateOut] = _page(TemplateOut, page)
    return result


@router.get("/agreement-templates/{template_id}", response_model=TemplateOut, tags=["licensing"])
def get_template(
    template_id: TemplateId, db: DbSession, actor: CurrentPrincipal
) -> AgreementTemplate:
    """One agreement template."""
    return agreements.get_template(db, actor, template_id=template_id)


@router.post(
    "/agreement-templates/{template_id}/versions",
    status_code=201,
    response_model=VersionOut,
    tags=["licensing"],
)
def publish_version(
    template_id: TemplateId, body: VersionCreate, db: DbSession, actor: CurrentPrincipal
) -> VersionOut:
    """Publish a new version of a template; the firms that signed it are told."""
    version = agreements.publish_version(db, actor, template_id=template_id, data=body)
    return _version_out(version, version.effective_from <= clock.now())


@router.get(
    "/agreement-templates/{template_id}/versions",
    response_model=list[VersionOut],
    tags=["licensing"],
)
def list_versions(
    template_id: TemplateId, db: DbSession, actor: CurrentPrincipal
) -> list[VersionOut]:
    """Every version of a template, oldest first; ``in_force`` marks the one that applies."""
    return [
        _version_out(version, in_force)
        for version, in_force in agreements.list_versions(db, actor, template_id=template_id)
    ]


@router.post(
    "/partners/{partner_id}/agreements",
    status_code=201,
    response_model=AgreementOut,
    tags=["licensing"],
)
def sign_agreement(
    partner_id: PartnerId, body: AgreementSign, db: DbSession, actor: CurrentPrincipal
) -> Agreement:
    """A firm signs an agreement template's version; it must meet the version's requirements."""
    return agreements.sign_agreement(db, actor, partner_id=partner_id, data=body)


@router.get("/agreements", response_model=Page[AgreementOut], tags=["licensing"])
def list_agreements(
    db: DbSession,
    actor: CurrentPrincipal,
    partner_id: IdQuery = None,
    template_id: IdQuery = None,
    status: AgreementStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AgreementOut]:
    """Signed agreements; partner users see their own firm's only."""
    page = agreements.list_agreements(
        db,
        actor,
        partner_id=partner_id,
        template_id=template_id,
        status=status,
        cursor=cursor,
        limit=limit,
    )
    result: Page[AgreementOut] = _page(AgreementOut, page)
    return result


@router.get("/agreements/{agreement_id}", response_model=AgreementOut, tags=["licensing"])
def get_agreement(agreement_id: AgreementId, db: DbSession, actor: CurrentPrincipal) -> Agreement:
    """One signed agreement."""
    return agreements.get_agreement(db, actor, agreement_id=agreement_id)


@router.post("/licenses", status_code=201, response_model=LicenseIssued, tags=["licensing"])
def issue_license(body: LicenseCreate, db: DbSession, actor: CurrentPrincipal) -> LicenseIssued:
    """Issue a license under a signed agreement; the response carries the key, shown once."""
    license, key = service.issue_license(db, actor, data=body)
    return LicenseIssued(**_license_out(license).model_dump(), key=key)


@router.get("/licenses", response_model=Page[LicenseOut], tags=["licensing"])
def list_licenses(
    db: DbSession,
    actor: CurrentPrincipal,
    partner_id: IdQuery = None,
    product_id: IdQuery = None,
    agreement_id: IdQuery = None,
    status: LicenseStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[LicenseOut]:
    """Licenses (never their keys); partner users see their own firm's only."""
    page = service.list_licenses(
        db,
        actor,
        partner_id=partner_id,
        product_id=product_id,
        agreement_id=agreement_id,
        status=status,
        cursor=cursor,
        limit=limit,
    )
    result: Page[LicenseOut] = _page(LicenseOut, page)
    return result


@router.get("/licenses/{license_id}", response_model=LicenseOut, tags=["licensing"])
def get_license(license_id: LicenseId, db: DbSession, actor: CurrentPrincipal) -> LicenseOut:
    """One license (its key shows by its first group only)."""
    return _license_out(service.get_license(db, actor, license_id=license_id))


@router.post("/licenses/{license_id}/key", response_model=LicenseKeyOut, tags=["licensing"])
def reveal_key(license_id: LicenseId, db: DbSession, actor: CurrentPrincipal) -> LicenseKeyOut:
    """A license's full key, for its firm's admin; each reading is recorded in the events log."""
    key = service.reveal_key(db, actor, license_id=license_id)
    return LicenseKeyOut(license_id=license_id, key=key)


@router.post("/licenses/{license_id}/suspend", response_model=LicenseOut, tags=["licensing"])
def suspend_license(
    license_id: LicenseId, body: LicenseReason, db: DbSession, actor: CurrentPrincipal
) -> LicenseOut:
    """Suspend an active license."""
    license = service.suspend_license(db, actor, license_id=license_id, reason=body.reason)
    return _license_out(license)


@router.post("/licenses/{license_id}/reinstate", response_model=LicenseOut, tags=["licensing"])
def reinstate_license(
    license_id: LicenseId, body: LicenseReason, db: DbSession, actor: CurrentPrincipal
) -> LicenseOut:
    """Lift a license's suspension."""
    license = service.reinstate_license(db, actor, license_id=license_id, reason=body.reason)
    return _license_out(license)


@router.post("/licenses/{license_id}/revoke", response_model=LicenseOut, tags=["licensing"])
def revoke_license(
    license_id: LicenseId, body: LicenseReason, db: DbSession, actor: CurrentPrincipal
) -> LicenseOut:
    """Revoke a license for good."""
    license = service.revoke_license(db, actor, license_id=license_id, reason=body.reason)
    return _license_out(license)


@router.post("/licenses/{license_id}/renew", response_model=LicenseOut, tags=["licensing"])
def renew_license(
    license_id: LicenseId, body: LicenseRenew, db: DbSession, actor: CurrentPrincipal
) -> LicenseOut:
    """Extend a license's term (by its agreement's term unless ``valid_until`` is given)."""
    license = service.renew_license(
        db, actor, license_id=license_id, valid_until=body.valid_until, reason=body.reason
    )
    return _license_out(license)


# Usage metering.


@router.post(
    "/usage",
    response_model=UsageReceipt,
    tags=["licensing"],
    # An API key, or none when the body carries the license key.
    openapi_extra={"security": [{"apiKey": []}, {}]},
)
async def report_usage(body: UsageBatch, request: Request, db: DbSession) -> UsageReceipt:
    """Report up to 1,000 usage records, all stored or none; each is counted once however
    often it is sent (by ``record_id`` per license).

    Licensed software authenticates with its license ``key`` in the body (no API key needed);
    a partner's integration uses its API key and names each record's ``license_id``.
    """
    caller = None if body.key is not None else await get_principal(request)
    return await run_in_threadpool(_report, db, caller, body)


def _report(db: Session, caller: Principal | None, body: UsageBatch) -> UsageReceipt:
    if caller is None:
        assert body.key is not None
        caller = usage.license_principal(db, body.key)
    receipt = usage.report_usage(db, caller, records=body.records)
    return UsageReceipt(
        received=receipt.received, accepted=receipt.accepted, duplicates=receipt.duplicates
    )


@router.get("/licenses/{license_id}/usage", response_model=list[UsageRollupOut], tags=["licensing"])
def list_usage(
    license_id: LicenseId,
    db: DbSession,
    actor: CurrentPrincipal,
    metric: Annotated[Key | None, Query()] = None,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
) -> list[UsageRollupOut]:
    """A license's usage per metric per calendar month (UTC), oldest first; ``from`` and
    ``to`` bound the months (``to`` excluded). Partner users see their own firm's licenses."""
    rollups = usage.list_usage(
        db, actor, license_id=license_id, metric=metric, since=since, until=until
    )
    return [UsageRollupOut.model_validate(rollup) for rollup in rollups]
