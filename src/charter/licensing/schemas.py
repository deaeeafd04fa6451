"""API shapes of products, agreement templates, signed agreements and licenses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from charter.core.schemas import ORMModel
from charter.core.text import Code, Id, Name, Note, Paragraphs, Reason
from charter.licensing.enums import AgreementStatus, LicenseStatus, SeatModel
from charter.licensing.rules import Requirements, Terms
from charter.partners.schemas import Country, Email
from charter.partners.taxonomy_schemas import RegionCode
from charter.tiers.rules import Key

MAX_TEXT = 10_000
MAX_FEATURES = 200
MAX_SEATS = 1_000_000


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Feature(_Input):
    """A licensable feature of a product, named by a key licenses carry as an entitlement."""

    key: Key
    name: Name
    description: Note = ""


class ProductCreate(_Input):
    """A new product and its licensable features."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "ANALYTICS",
                    "name": "Northstar Analytics",
                    "description": "Self-hosted analytics server",
                    "features": [
                        {"key": "dashboards", "name": "Dashboards", "description": ""},
                        {"key": "sso", "name": "Single sign-on", "description": "SAML and OIDC"},
                    ],
                }
            ]
        }
    )

    code: Code
    name: Name
    description: Paragraphs = Field(default="", max_length=MAX_TEXT)
    features: list[Feature] = Field(default_factory=list, max_length=MAX_FEATURES)

    @field_validator("features")
    @classmethod
    def _distinct_keys(cls, features: list[Feature]) -> list[Feature]:
        keys = [feature.key for feature in features]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise ValueError(f"feature keys used twice: {', '.join(twice)}")
        return features


class ProductOut(ORMModel):
    """A product."""

    id: str
    code: str
    name: str
    description: str
    features: list[Feature]
    created_at: datetime
    updated_at: datetime


VERSION_EXAMPLE: dict[str, Any] = {
    "effective_from": "2026-04-01T00:00:00Z",
    "summary": "Resale in the EU, 10% royalty",
    "terms": {
        "features": ["dashboards", "sso"],
        "rights": {
            "use": True,
            "reproduce": False,
            "distribute": True,
            "modify": False,
            "derivative_works": False,
            "sublicense": False,
            "white_label": False,
        },
        "territory": {
            "regions": ["emea"],
            "countries": [],
            "excluded_countries": ["RU"],
        },
        "verticals": [],
        "term": {"months": 12, "renewal": "automatic"},
        "fee": {
            "model": "per_seat",
            "amount_per_seat": "40.00",
            "currency": "EUR",
            "period": "year",
            "minimum_seats": 5,
        },
        "royalty_percent": "10",
        "audit": {"allowed": True, "notice_days": 30, "max_per_year": 1},
        "termination": {
            "wind_down_days": 90,
            "duties": ["Return or destroy unsold copies"],
        },
        "usage_caps": {
            "api_calls": {
                "limit": 1000000,
                "period": "month",
                "overage": "allow_and_flag",
            }
        },
    },
    "requirements": {
        "program": "default",
        "min_tier": "authorized",
        "min_certified_by_track": {"sales": 1},
    },
}
"""An agreement version as the API examples show it: per-seat resale in Europe."""


class VersionCreate(_Input):
    """A new version of an agreement template: its terms and requirements, in force from
    ``effective_from`` (now by default)."""

    model_config = ConfigDict(json_schema_extra={"examples": [VERSION_EXAMPLE]})

    effective_from: AwareDatetime | None = None
    summary: Paragraphs = Field(default="", max_length=MAX_TEXT)
    terms: Terms
    requirements: Requirements = Field(default_factory=Requirements)


class TemplateCreate(_Input):
    """A new agreement template for a product, with its first version."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "RESELL-EU",
                    "name": "Reseller agreement (Europe)",
                    "product_id": "prd_01HZX7N2C5TA",
                    "version": VERSION_EXAMPLE,
                }
            ]
        }
    )

    code: Code
    name: Name
    product_id: Id
    version: VersionCreate


class TemplateOut(ORMModel):
    """An agreement template (its terms are in its versions)."""

    id: str
    code: str
    name: str
    product_id: str
    created_at: datetime
    updated_at: datetime


class VersionOut(ORMModel):
    """One published version of an agreement template."""

    id: str
    template_id: str
    version: int
    effective_from: datetime
    summary: str
    terms: Terms
    requirements: Requirements
    created_at: datetime
    in_force: bool = False


class AgreementSign(_Input):
    """A firm signs a template's version: the one in force unless ``version`` names a later
    one already published. The signer is the person who signs for the firm."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "template_id": "agt_01HZX8Q4JM2V",
                    "signer_name": "Dana Whitfield",
                    "signer_email": "dana.whitfield@northwind.example.com",
                    "signer_title": "CEO",
                }
            ]
        }
    )

    template_id: Id
    version: int | None = Field(default=None, ge=1, le=1_000_000)
    signer_name: Name
    signer_email: Email
    signer_title: Name | None = None


class AgreementOut(ORMModel):
    """A firm's signature of one version of a template."""

    id: str
    partner_id: str
    template_id: str
    version_id: str
    version: int
    status: AgreementStatus
    signer_name: str
    signer_email: str
    signer_title: str | None
    signed_by: str | None
    signed_at: datetime
    superseded_at: datetime | None
    superseded_by: str | None


class LicenseCreate(_Input):
    """A license under a firm's signed agreement. Regions and countries default to the
    agreement's territory and must lie within it; the term defaults to the agreement's."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agreement_id": "agr_01HZX9B7K3QF",
                    "seats": 25,
                    "regions": ["emea"],
                    "seat_model": "floating",
                }
            ]
        }
    )

    agreement_id: Id
    seats: int = Field(ge=1, le=MAX_SEATS)
    regions: list[RegionCode] | None = Field(default=None, max_length=100)
    countries: list[Country] | None = Field(default=None, max_length=300)
    valid_until: AwareDatetime | None = None
    seat_model: SeatModel = SeatModel.NODE_LOCKED


class LicenseReason(_Input):
    """Why a license's status changes."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Unpaid invoice INV-2026-0412"}]}
    )

    reason: Reason


class LicenseRenew(_Input):
    """A renewal: to ``valid_until``, or by the agreement's term from the current end (or from
    now, when that has passed)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"valid_until": "2027-12-31T23:59:59Z", "reason": "Renewed for 2027"}]
        }
    )

    valid_until: AwareDatetime | None = None
    reason: Reason = "renewal"


class LicenseOut(BaseModel):
    """A license; the key shows only by its first group."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    partner_id: str
    agreement_id: str
    product_id: str
    key_prefix: str
    seats: int
    seat_model: SeatModel
    entitlements: list[str]
    regions: list[RegionCode]
    countries: list[str]
    status: LicenseStatus
    status_reason: str | None
    status_changed_at: datetime | None
    valid_from: datetime
    valid_until: datetime
    renewed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class LicenseIssued(LicenseOut):
    """A license just issued, with its key: shown this once (a firm's admin may read it
    again)."""

    key: str


class LicenseKeyOut(BaseModel):
    """A license's full key."""

    license_id: str
    key: str
