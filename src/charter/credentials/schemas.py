"""API shapes of awards."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from charter.core.schemas import ORMModel
from charter.core.text import ExternalId, Id, Note, Reason
from charter.credentials.enums import AwardStatus, SubjectType


class AwardCreate(BaseModel):
    """Award a certification to a person; ``override_reason`` (admins) skips unmet criteria."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "person_id": "per_01HZX6F3Q8MW",
                    "certification_id": "crt_01HZX4R6T2YC",
                    "external_id": "lms-award-1206",
                }
            ]
        },
    )

    person_id: Id
    certification_id: Id
    # A Note, not a Reason: blank is allowed so the service can say that an override needs one.
    override_reason: Note | None = None
    external_id: ExternalId | None = None


class AwardBatchIn(BaseModel):
    """Several awards to issue together (all or none)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"person_id": "per_01HZX6F3Q8MW", "certification_id": "crt_01HZX4R6T2YC"},
                        {
                            "person_id": "per_01HZX6G9S1NV",
                            "certification_id": "crt_01HZX4R6T2YC",
                            "external_id": "lms-award-1207",
                        },
                    ]
                }
            ]
        },
    )

    items: list[AwardCreate] = Field(min_length=1, max_length=1000)


class ReasonIn(BaseModel):
    """Why a status changes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Exam results withdrawn by the test centre"}]},
    )

    reason: Reason


class ReinstateIn(BaseModel):
    """Why a suspended award is reinstated (optional)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "The test centre confirmed the results"}]},
    )

    reason: Reason | None = None


class RenewIn(BaseModel):
    """A renewal; ``override_reason`` (admins) renews although the criteria are not met."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"override_reason": "Recertified at the partner summit; exam record to follow"}
            ]
        },
    )

    # A Note, not a Reason: blank is allowed so the service can say that an override needs one.
    override_reason: Note | None = None


class AwardOut(ORMModel):
    """An award; ``status`` is the effective one (expired as soon as ``valid_until`` passes)."""

    id: str
    certification_id: str
    criteria_version_id: str
    subject_type: SubjectType
    person_id: str | None
    partner_id: str | None
    status: AwardStatus
    issued_at: datetime
    valid_until: datetime
    status_reason: str | None
    status_changed_at: datetime | None
    override_reason: str | None
    renewed_at: datetime | None
    renewal_count: int
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    credential_id: str | None = Field(
        default=None,
        description="The award's current signed credential (its latest if none is live)",
    )
    credential_url: str | None = Field(
        default=None,
        description="The credential's public page, which anyone can open to verify it "
        "(also its JSON, for Accept: application/vc+ld+json)",
    )


class AwardBatchOut(BaseModel):
    """The awards a batch issued, in the order they were asked for."""

    items: list[AwardOut]


class EligibilityOut(BaseModel):
    """Whether a person meets a certification's criteria in force now, and what is missing."""

    person_id: str
    certification_id: str
    criteria_version_id: str
    criteria_version: int
    evaluated_at: datetime
    met: bool
    unmet: list[str]
