"""API shapes of certifications, criteria versions, assessments and eligibility."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from charter.core.schemas import ORMModel
from charter.core.text import Code, ExternalId, Id, Name, OneLine, Paragraphs
from charter.partners.taxonomy_schemas import TrackCode
from charter.programs.enums import AssessmentKind, Level
from charter.programs.rules import Requirements

MAX_VALIDITY_DAYS = 36_500
MAX_TEXT = 10_000

_URL = r"^https?://[^\s\x00]+$"
HttpUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=_URL), OneLine
]
ImageUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500, pattern=_URL), OneLine
]
Sha256Hex = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[0-9a-fA-F]{64}$"),
]
ValidityDays = Annotated[int, Field(gt=0, le=MAX_VALIDITY_DAYS)]


CRITERIA_EXAMPLE: dict[str, Any] = {
    "narrative": "Pass the administrator exam with 75% and complete the hands-on lab.",
    "requirements": {
        "assessments": [{"code": "EXAM-ADM-201", "min_score": 75}],
        "labs": ["LAB-ADM-201"],
        "evidence_max_age_days": 365,
    },
    "effective_from": "2026-04-01T00:00:00Z",
}
"""Criteria as the API examples show them: an exam and a lab."""


class CriteriaCreate(BaseModel):
    """A new version of a certification's criteria; in force from ``effective_from`` (now)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CRITERIA_EXAMPLE]})

    narrative: Paragraphs = Field(min_length=1, max_length=MAX_TEXT)
    requirements: Requirements = Field(default_factory=Requirements)
    effective_from: AwareDatetime | None = None


class CertificationCreate(BaseModel):
    """A new certification with its first criteria."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "ADM-201",
                    "name": "Certified Administrator",
                    "track": "technical",
                    "level": "associate",
                    "description": "Installs, configures and runs the platform",
                    "validity_days": 730,
                    "renewal_window_days": 90,
                    "criteria": CRITERIA_EXAMPLE,
                }
            ]
        },
    )

    code: Code
    name: Name
    track: TrackCode
    level: Level
    description: Paragraphs = Field(default="", max_length=MAX_TEXT)
    image_url: ImageUrl | None = None
    validity_days: ValidityDays
    renewal_window_days: ValidityDays
    criteria: CriteriaCreate


class CertificationUpdate(BaseModel):
    """Changes to a certification; fields left out stay as they are. The code never changes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Certified Platform Administrator", "validity_days": 1095}]
        },
    )

    name: Name | None = None
    track: TrackCode | None = None
    level: Level | None = None
    description: Paragraphs | None = Field(default=None, max_length=MAX_TEXT)
    image_url: ImageUrl | None = None
    validity_days: ValidityDays | None = None
    renewal_window_days: ValidityDays | None = None


class CertificationOut(ORMModel):
    """A certification."""

    id: str
    code: str
    name: str
    track: TrackCode
    level: Level
    description: str
    image_url: str | None
    validity_days: int
    renewal_window_days: int
    retired_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CriteriaVersionOut(ORMModel):
    """One published version of a certification's criteria."""

    id: str
    certification_id: str
    version: int
    effective_from: datetime
    narrative: str
    requirements: Requirements
    created_at: datetime
    in_force: bool = False


class AssessmentCreate(BaseModel):
    """Something a person did toward a certification: an exam, lab, reference or training."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "person_id": "per_01HZX6F3Q8MW",
                    "kind": "exam",
                    "code": "EXAM-ADM-201",
                    "score": 87.5,
                    "passed": True,
                    "assessor": "Pearson VUE",
                    "occurred_at": "2026-03-02T14:30:00Z",
                    "evidence_url": "https://lms.example.com/results/88213",
                    "external_id": "lms-88213",
                }
            ]
        },
    )

    person_id: Id
    kind: AssessmentKind
    code: Name
    score: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    passed: bool
    assessor: Name
    occurred_at: AwareDatetime
    evidence_url: HttpUrl | None = None
    evidence_sha256: Sha256Hex | None = None
    external_id: ExternalId | None = None


class AssessmentOut(ORMModel):
    """A recorded assessment."""

    id: str
    person_id: str
    kind: AssessmentKind
    code: str
    score: float | None
    passed: bool
    assessor: str
    occurred_at: datetime
    evidence_url: str | None
    evidence_sha256: str | None
    external_id: str | None
    created_at: datetime
