"""API shapes for partner firms and their people."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from charter.core.errors import Invalid
from charter.core.schemas import ORMModel
from charter.core.text import (
    ExternalId,
    Id,
    Line,
    Name,
    Note,
    Reason,
    normalize_email,
    storable_text,
)
from charter.crypto.dids import holder_did_problem
from charter.partners.enums import (
    InvitationKind,
    InvitationState,
    OnboardingCheck,
    PartnerStatus,
)
from charter.partners.taxonomy_schemas import PartnerTypeCode, RegionCode, TrackCode

MAX_EMAILS = 20
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _holder_did(value: str) -> str:
    problem = holder_did_problem(value)
    if problem:
        raise ValueError(problem)
    return value


HolderDid = Annotated[str, AfterValidator(_holder_did)]


def country_code(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper-case; :class:`ValueError` for anything else."""
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (such as DE, US)")
    return str(code)


def website_url(value: str) -> str:
    """An absolute http(s) URL with a host, as given (stripped)."""
    text = storable_text(value)
    try:
        url = _HTTP_URL.validate_python(text)
    except ValidationError:
        raise ValueError(
            "must be an http:// or https:// address, such as https://example.com"
        ) from None
    if not url.host or "." not in url.host:
        raise ValueError("must name a public host, such as https://example.com")
    return text


def email_address(value: str) -> str:
    """A normalized email address (lower-case); :class:`ValueError` when malformed."""
    try:
        return normalize_email(storable_text(value))
    except Invalid as error:
        raise ValueError(error.errors[0].detail if error.errors else error.detail) from None


Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(country_code)]
Website = Annotated[str, Field(max_length=500), AfterValidator(website_url)]
Email = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(email_address)]


def _unique_regions(regions: list[str]) -> list[str]:
    return sorted(set(regions))


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartnerCreate(_Input):
    """A new partner firm; it starts as an applicant."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Northwind Consulting",
                    "type": "implementation",
                    "regions": ["emea", "na"],
                    "country": "DE",
                    "website": "https://northwind.example.com",
                    "external_id": "crm-4711",
                }
            ]
        }
    )

    name: Name
    type: PartnerTypeCode
    regions: Annotated[
        list[RegionCode], Field(min_length=1, max_length=16), AfterValidator(_unique_regions)
    ]
    country: Country
    website: Website | None = None
    external_id: ExternalId | None = None

    @field_validator("website", mode="before")
    @classmethod
    def _blank_website_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class PartnerUpdate(_Input):
    """Changes to a firm's profile; fields left out stay as they are, ``null`` clears."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"regions": ["emea", "na", "apac"], "website": "https://northwind.example.com"}
            ]
        }
    )

    name: Name | None = None
    type: PartnerTypeCode | None = None
    regions: (
        Annotated[
            list[RegionCode], Field(min_length=1, max_length=16), AfterValidator(_unique_regions)
        ]
        | None
    ) = None
    country: Country | None = None
    website: Website | None = None
    external_id: ExternalId | None = None

    @field_validator("website", mode="before")
    @classmethod
    def _blank_website_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("name", "type", "regions", "country")
    @classmethod
    def _required_fields_cannot_be_cleared(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be cleared; leave it out to keep the current value")
        return value


class PartnerStatusChange(_Input):
    """Move a firm along its lifecycle, saying why."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "active", "reason": "Onboarding completed"}]}
    )

    status: PartnerStatus
    reason: Reason


class OnboardingCheckUpdate(_Input):
    """Mark one onboarding check done or not done."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"done": True, "note": "Checked against the trade register"}]
        }
    )

    done: bool
    note: Note | None = None


class OnboardingCheckOut(BaseModel):
    """One onboarding check: whether it is done, when, by whom."""

    done: bool = False
    at: datetime | None = None
    by: str | None = None
    note: str | None = None


class PartnerOut(ORMModel):
    """A partner firm as the API shows it."""

    id: str
    name: str
    type: PartnerTypeCode
    status: PartnerStatus
    regions: list[RegionCode]
    country: str
    website: str | None
    external_id: str | None
    status_reason: str | None
    status_changed_at: datetime | None
    onboarding: dict[OnboardingCheck, OnboardingCheckOut]
    created_at: datetime
    updated_at: datetime

    @field_validator("onboarding", mode="before")
    @classmethod
    def _every_check(cls, value: Any) -> Any:
        # Older rows may lack a check added later; show it as not done rather than omit it.
        record = value if isinstance(value, dict) else {}
        return {check.value: record.get(check.value) or {} for check in OnboardingCheck}


class PersonCreate(_Input):
    """A new person; the first email address is the primary one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "given_name": "Ada",
                    "family_name": "Byron",
                    "track": "technical",
                    "partner_id": "prt_01HZX5D1P9KE",
                    "emails": ["ada.byron@northwind.example.com"],
                    "external_id": "lms-user-311",
                }
            ]
        }
    )

    given_name: Name
    family_name: Line = Field(max_length=200)
    track: TrackCode
    partner_id: Id | None = None
    emails: Annotated[list[Email], Field(min_length=1, max_length=MAX_EMAILS)]
    external_id: ExternalId | None = None
    did: HolderDid | None = None


class PersonUpdate(_Input):
    """Changes to a person; firm and addresses change through their own calls."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"track": "support", "show_name_publicly": True}]}
    )

    given_name: Name | None = None
    family_name: Line | None = Field(default=None, max_length=200)
    track: TrackCode | None = None
    external_id: ExternalId | None = None
    show_name_publicly: bool | None = None
    did: HolderDid | None = None

    @field_validator("given_name", "family_name", "track", "show_name_publicly")
    @classmethod
    def _required_fields_cannot_be_cleared(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be cleared; leave it out to keep the current value")
        return value


class PersonEmailIn(_Input):
    """An address to add to a person (``primary`` makes it the one written to)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "ada@byron.example.org", "primary": False}]}
    )

    email: Email
    primary: bool = False


class JoinPartner(_Input):
    """The firm a person starts working for."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"partner_id": "prt_01HZX5D1P9KE"}]})

    partner_id: Id


class PersonOut(ORMModel):
    """A person as the API shows it; ``emails`` lists the primary address first."""

    id: str
    given_name: str
    family_name: str
    display_name: str
    track: TrackCode
    partner_id: str | None
    emails: list[str]
    primary_email: str | None
    external_id: str | None
    show_name_publicly: bool
    did: str | None
    created_at: datetime
    updated_at: datetime


class EmploymentOut(ORMModel):
    """A person's time at a firm."""

    id: str
    person_id: str
    partner_id: str
    joined_at: datetime
    left_at: datetime | None


class InvitationOut(ORMModel):
    """An invitation as its firm sees it: the same whether or not the address is on record.

    ``kind`` ``person``: the address's owner is invited to join the firm (``person_id`` is
    who joined, once accepted); ``email``: the address is to be added to ``person_id``.
    """

    id: str
    kind: InvitationKind
    partner_id: str
    email: str
    state: InvitationState
    person_id: str | None
    given_name: str | None
    family_name: str | None
    track: TrackCode | None
    primary: bool
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    cancelled_at: datetime | None


MAX_BLURB_LENGTH = 1000
MAX_SLUG_LENGTH = 80
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class ListingUpdate(_Input):
    """Changes to a firm's public directory listing; fields left out stay as they are."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "listed": True,
                    "blurb": "Cloud migrations and managed support across Europe.",
                    "website": "https://northwind.example.com",
                    "slug": "northwind-traders",
                }
            ]
        }
    )

    listed: bool | None = Field(
        None, description="Whether the firm appears in the public partner directory"
    )
    blurb: Annotated[str, Field(max_length=MAX_BLURB_LENGTH)] | None = Field(
        None,
        description=(
            f"What the directory says about the firm: plain text, at most {MAX_BLURB_LENGTH} "
            "characters; null clears it"
        ),
    )
    website: Website | None = Field(
        None, description="The firm's website, an http or https URL; null clears it"
    )
    slug: (
        Annotated[str, Field(min_length=1, max_length=MAX_SLUG_LENGTH, pattern=SLUG_PATTERN)] | None
    ) = Field(
        None,
        description=(
            "The firm's profile address in the directory (``/directory/<slug>``): lower-case "
            "letters, digits and single hyphens; null derives it from the firm's name"
        ),
    )

    @field_validator("blurb")
    @classmethod
    def _plain_blurb(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return storable_text(value, multiline=True) or None

    @field_validator("website", mode="before")
    @classmethod
    def _blank_website_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class ListingOut(ORMModel):
    """A firm's public directory listing."""

    partner_id: str = Field(description="The firm's id (``prt_…``)")
    listed: bool = Field(description="Whether the firm chose to appear in the directory")
    shown: bool = Field(
        description="Whether the directory shows it now: listed, and the firm is active"
    )
    slug: str | None = Field(description="The firm's profile address: ``/directory/<slug>``")
    blurb: str | None = Field(description="What the directory says about the firm")
    website: str | None = Field(description="The firm's website")
    profile_url: str | None = Field(description="The firm's public profile, while it is shown")
