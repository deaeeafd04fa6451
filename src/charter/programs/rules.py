"""Certification criteria as values, and the pure check of a person's evidence against them.

Nothing here touches the database or the clock: the evaluation time is an argument, so the
same evidence judged at the same instant always gives the same answer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from charter.core.text import Name
from charter.programs.enums import AssessmentKind

MAX_ITEMS = 50
MAX_EVIDENCE_AGE_DAYS = 36_500


def _unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value} is listed twice")
        seen.add(value)


class AssessmentRequirement(BaseModel):
    """An exam with this code passed with at least ``min_score`` (percent)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Checked as an assessment's code is (a free one-line Name): the two are compared as given.
    code: Name
    min_score: float = Field(ge=0, le=100, allow_inf_nan=False)


class Requirements(BaseModel):
    """The machine-checkable part of a certification's criteria."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assessments: list[AssessmentRequirement] = Field(default_factory=list, max_length=MAX_ITEMS)
    # Lab and training codes as assessments record them; prerequisites are certification codes.
    labs: list[Name] = Field(default_factory=list, max_length=MAX_ITEMS)
    customer_references: int = Field(default=0, ge=0, le=1000)
    trainings: list[Name] = Field(default_factory=list, max_length=MAX_ITEMS)
    prerequisites: list[Name] = Field(default_factory=list, max_length=MAX_ITEMS)
    evidence_max_age_days: int | None = Field(default=None, ge=1, le=MAX_EVIDENCE_AGE_DAYS)

    @model_validator(mode="after")
    def _no_duplicates(self) -> Self:
        _unique((item.code for item in self.assessments), "exam")
        _unique(self.labs, "lab")
        _unique(self.trainings, "training")
        _unique(self.prerequisites, "prerequisite")
        return self


@dataclass(frozen=True, slots=True)
class Evidence:
    """One recorded assessment, as the check needs it."""

    kind: AssessmentKind
    code: str
    passed: bool
    occurred_at: datetime
    score: float | None = None


def _score(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True, slots=True)
class _Pool:
    """Evidence split into what counts at the evaluation time and what is too old to."""

    current: list[Evidence]
    stale: list[Evidence]
    max_age_days: int | None

    @classmethod
    def split(cls, evidence: Iterable[Evidence], at: datetime, max_age_days: int | None) -> _Pool:
        oldest = at - timedelta(days=max_age_days) if max_age_days is not None else None
        current: list[Evidence] = []
        stale: list[Evidence] = []
        for item in evidence:
            if item.occurred_at > at:
                continue  # it had not happened yet at the evaluation time
            if oldest is not None and item.occurred_at < oldest:
                stale.append(item)
            else:
                current.append(item)
        return cls(current, stale, max_age_days)

    def of(self, kind: AssessmentKind, code: str | None = None) -> list[Evidence]:
        return [e for e in self.current if e.kind is kind and (code is None or e.code == code)]

    def too_old(self, kind: AssessmentKind, code: str) -> str | None:
        """Say that only stale evidence exists, if that is why the requirement is unmet."""
        if any(e.kind is kind and e.code == code for e in self.stale):
            return (
                f"{kind.value} {code}: evidence older than {self.max_age_days} days does not count"
            )
        return None


def _exam_unmet(exam: AssessmentRequirement, pool: _Pool) -> str | None:
    attempts = pool.of(AssessmentKind.EXAM, exam.code)
    if any(e.passed and e.score is not None and e.score >= exam.min_score for e in attempts):
        return None
    scores = [e.score for e in attempts if e.score is not None]
    if scores and max(scores) < exam.min_score:
        return f"exam {exam.code}: best score {_score(max(scores))} < {_score(exam.min_score)}"
    if attempts:
        return f"exam {exam.code}: no passed attempt with score >= {_score(exam.min_score)}"
    return pool.too_old(AssessmentKind.EXAM, exam.code) or f"exam {exam.code} not taken"


def _passed_unmet(kind: AssessmentKind, code: str, missing: str, pool: _Pool) -> str | None:
    if any(e.passed for e in pool.of(kind, code)):
        return None
    return pool.too_old(kind, code) or f"{kind.value} {code} {missing}"


def check_requirements(
    requirements: Requirements,
    evidence: Iterable[Evidence],
    held_certification_codes: Collection[str],
    at: datetime,
) -> list[str]:
    """Every requirement not met at ``at``, as a sentence a person can act on; empty if all met.

    Evidence dated after ``at`` does not count (it had not happened yet), nor does evidence
    older than ``evidence_max_age_days`` when the criteria set a maximum age.
    """
    pool = _Pool.split(evidence, at, requirements.evidence_max_age_days)
    reasons: list[str | None] = [_exam_unmet(exam, pool) for exam in requirements.assessments]
    reasons.extend(
        _passed_unmet(AssessmentKind.LAB, lab, "not passed", pool) for lab in requirements.labs
    )
    passed_references = sum(1 for e in pool.of(AssessmentKind.REFERENCE) if e.passed)
    missing = requirements.customer_references - passed_references
    if missing > 0:
        reasons.append(f"{missing} more customer reference{'' if missing == 1 else 's'} needed")
    reasons.extend(
        _passed_unmet(AssessmentKind.TRAINING, training, "not completed", pool)
        for training in requirements.trainings
    )
    held = set(held_certification_codes)
    reasons.extend(
        f"prerequisite {code} not held" for code in requirements.prerequisites if code not in held
    )
    return [reason for reason in reasons if reason is not None]
