"""Portability checkpoints: a deployment outside a license's territory waits for approval.

An activation in a place the license does not cover (:mod:`charter.licensing.activations`)
takes no seat; it asks for a ``license.territory`` approval request instead, whose proposed
change is ``{"add_regions": [...], "add_countries": [...]}``: the sales region the deployment
named, and its country when the license lists countries and lacks it, so that the deployment's
activation and its validations with the same place both pass once the change is applied.
Embargoed places never get this far: they are refused at once.

- **One pending request per license** (approvals allow one per type and subject). A deployment
  in a place the pending request already proposes reuses it; one in another place is refused
  (409 ``TERRITORY_REQUEST_PENDING``) until it is decided: a governance owner approves what
  they read, so a pending request never grows under them.
- **After a rejection** the place stays outside: activations there are refused
  (409 ``REGION_NOT_PERMITTED``) instead of asking again with every retry of the software. The
  firm may ask again, with a new justification, through ``POST /api/v1/approvals``.
- **The applier** adds the places to the license, within its agreement's territory (as issuing
  a license does); a place the agreement does not cover either, or a license no longer in
  force, is refused, and the request ends ``failed`` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.approvals import registry
from charter.approvals import service as approvals
from charter.approvals.enums import ApprovalState
from charter.approvals.models import ApprovalRequest
from charter.core import events
from charter.core.auth import Principal
from charter.core.errors import Conflict, Invalid
from charter.licensing import rules
from charter.licensing.enums import LicenseStatus
from charter.licensing.models import Agreement, AgreementVersion, License
from charter.partners.schemas import Country
from charter.partners.taxonomy_schemas import RegionCode

TYPE = "license.territory"
SUBJECT = "license"
SLA = timedelta(hours=48)
"""A deployment waits on the decision: two days, then the request is escalated."""


class TerritoryChange(BaseModel):
    """The proposed change of a ``license.territory`` request."""

    model_config = ConfigDict(extra="forbid")

    add_regions: list[RegionCode] = Field(default_factory=list, max_length=100)
    add_countries: list[Country] = Field(default_factory=list, max_length=300)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.add_regions and not self.add_countries:
            raise ValueError("name a region or a country to add")
        return self


def wanted(license: License, region: str, country: str | None) -> dict[str, list[str]]:
    """What the license lacks to cover a deployment in ``region`` (and ``country``, an ISO
    3166-1 code or a subdivision, whose country counts)."""
    add_regions = [] if region in license.regions else [region]
    nation = None if country is None else country.split("-", 1)[0]
    add_countries = (
        [nation]
        if nation is not None and license.countries and nation not in license.countries
        else []
    )
    return {"add_regions": add_regions, "add_countries": add_countries}


def _proposes(change: Mapping[str, Any], needed: Mapping[str, list[str]]) -> bool:
    return set(needed["add_regions"]) <= set(change.get("add_regions", [])) and set(
        needed["add_countries"]
    ) <= set(change.get("add_countries", []))


def _place(region: str, country: str | None) -> str:
    return region if country is None else f"{region} ({country})"


def hold(
    db: Session,
    actor: Principal,
    license: License,
    *,
    region: str,
    country: str | None,
    customer_name: str,
    justification: str | None,
) -> ApprovalRequest:
    """The pending request to extend ``license`` to the place: the one proposing it already,
    or a new one asked by ``actor``. :class:`Conflict` when the place was refused, or another
    place's request is pending."""
    needed = wanted(license, region, country)
    place = _place(region, country)
    pending = approvals.pending_request(db, type=TYPE, subject_type=SUBJECT, subject_id=license.id)
    if pending is not None:
        if _proposes(pending.proposed_change, needed):
            return pending
        raise Conflict(
            f"request {pending.id} to extend the license elsewhere is pending: activate in"
            f" {place} once it is decided",
            code="TERRITORY_REQUEST_PENDING",
            approval_id=pending.id,
        )
    refused = db.scalars(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.subject_type == SUBJECT,
            ApprovalRequest.subject_id == license.id,
            ApprovalRequest.type == TYPE,
            ApprovalRequest.state == ApprovalState.REJECTED.value,
        )
        .order_by(ApprovalRequest.decided_at.desc())
    ).all()
    for request in refused:
        if _proposes(request.proposed_change, needed):
            raise Conflict(
                f"extending the license to {place} was rejected ({request.reason});"
                " the firm may ask again through its approval requests",
                code="REGION_NOT_PERMITTED",
                approval_id=request.id,
            )
    why = (justification or "").strip() or (
        f"A deployment for {customer_name} asks to run in {place}, outside the license's territory."
    )
    return approvals.request_approval(
        db,
        actor,
        type=TYPE,
        subject_type=SUBJECT,
        subject_id=license.id,
        partner_id=license.partner_id,
        justification=why,
        proposed_change=needed,
    )


def pending_covers(db: Session, license_id: str, region: str | None, country: str | None) -> bool:
    """Whether a pending request would extend the license to the place a validation names
    (one indexed read). As validation judges a place, a named region decides; a country alone
    is judged by its country."""
    change = approvals.pending_change(db, type=TYPE, subject_type=SUBJECT, subject_id=license_id)
    if change is None:
        return False
    if region is not None:
        return region in change.get("add_regions", [])
    if country is not None:
        return country.split("-", 1)[0] in change.get("add_countries", [])
    return False


def _check(db: Session, actor: Principal, request: ApprovalRequest) -> None:
    license = db.get(License, request.subject_id)
    if license is None or (
        actor.partner_scope is not None and license.partner_id != actor.partner_scope
    ):
        raise Invalid.field("subject_id", f"no license {request.subject_id}")
    if request.partner_id != license.partner_id:
        raise Invalid.field("partner_id", "must be the firm holding the license")


def _extend(db: Session, actor: Principal, request: ApprovalRequest) -> Mapping[str, Any]:
    change = TerritoryChange.model_validate(request.proposed_change)
    license = db.scalar(
        select(License)
        .where(License.id == request.subject_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if license is None:
        raise Conflict(f"license {request.subject_id} no longer exists")
    if license.status != LicenseStatus.ACTIVE.value:
        raise Conflict(f"the license is {license.status}: its territory is not extended")
    agreement = db.get(Agreement, license.agreement_id)
    assert agreement is not None  # a foreign key
    version = db.get(AgreementVersion, agreement.version_id)
    assert version is not None  # a foreign key
    territory = rules.Terms.model_validate(version.terms).territory
    regions = list(change.add_regions)
    outside = rules.covers(list(territory.regions), regions) + [
        country
        for country in change.add_countries
        if country not in territory.countries or country in territory.excluded_countries
    ]
    if outside:
        raise Conflict(
            f"the license's agreement does not cover {', '.join(outside)}: its territory can"
            " grow only within the agreement's; sign an agreement that covers it",
            code="OUTSIDE_AGREEMENT",
            outside=outside,
        )
    added_regions = sorted(set(regions) - set(license.regions))
    added_countries = sorted(set(change.add_countries) - set(license.countries))
    license.regions = sorted({*license.regions, *regions})
    license.countries = sorted({*license.countries, *change.add_countries})
    db.flush()
    events.append(
        db,
        actor,
        "license.territory_extended",
        license,
        partner_id=license.partner_id,
        approval_id=request.id,
        added_regions=added_regions,
        added_countries=added_countries,
        regions=license.regions,
        countries=license.countries,
    )
    return {
        "license_id": license.id,
        "added_regions": added_regions,
        "added_countries": added_countries,
        "regions": license.regions,
        "countries": license.countries,
    }


registry.register_type(
    TYPE,
    title="Extend a license's territory",
    subject_type=SUBJECT,
    change=TerritoryChange,
    direct=True,
    sla=SLA,
    check=_check,
)
registry.register_applier(TYPE, _extend)
