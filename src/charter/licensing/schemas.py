"""API shapes of products, agreement templates, signed agreements and licenses."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from charter.core.schemas import ORMModel
from charter.core.text import Code, Id, Name, Note, Paragraphs, Reason
from charter.licensing.enums import AgreementStatus, LicenseStatus, SeatModel
from charter.licensing.rules import Requirements, Terms
from charter.partners.enums import Region
from charter.partners.schemas import Country, Email
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


class VersionCreate(_Input):
    """A new version of an agreement template: its terms and requirements, in force from
    ``effective_from`` (now by default)."""

    effective_from: AwareDatetime | None = None
    summary: Paragraphs = Field(default="", max_length=MAX_TEXT)
    terms: Terms
    requirements: Requirements = Field(default_factory=Requirements)


class TemplateCreate(_Input):
    """A new agreement template for a product, with its first version."""

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

    agreement_id: Id
    seats: int = Field(ge=1, le=MAX_SEATS)
    regions: list[Region] | None = Field(default=None, max_length=len(Region))
    countries: list[Country] | None = Field(default=None, max_length=300)
    valid_until: AwareDatetime | None = None
    seat_model: SeatModel = SeatModel.NODE_LOCKED


class LicenseReason(_Input):
    """Why a license's status changes."""

    reason: Reason


class LicenseRenew(_Input):
    """A renewal: to ``valid_until``, or by the agreement's term from the current end (or from
    now, when that has passed)."""

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
    regions: list[Region]
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
