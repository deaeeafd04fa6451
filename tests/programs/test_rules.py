"""The pure criteria check: evidence in, unmet reasons out (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from charter.programs.enums import AssessmentKind
from charter.programs.rules import Evidence, Requirements, check_requirements

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def exam(code: str, score: float, *, passed: bool = True, ago: timedelta = DAY) -> Evidence:
    return Evidence(AssessmentKind.EXAM, code, passed, AT - ago, score)


def done(kind: AssessmentKind, code: str, *, passed: bool = True, ago: timedelta = DAY) -> Evidence:
    return Evidence(kind, code, passed, AT - ago)


def check(requirements: dict, evidence=(), held=()) -> list[str]:
    return check_requirements(Requirements.model_validate(requirements), evidence, held, AT)


def test_no_requirements_are_always_met():
    assert check({}) == []


def test_exam_passed_at_the_minimum_score_is_met():
    assert (
        check({"assessments": [{"code": "CLD-201", "min_score": 70}]}, [exam("CLD-201", 70)]) == []
    )


def test_exam_below_the_minimum_names_the_best_score():
    evidence = [exam("CLD-201", 55, passed=False), exam("CLD-201", 62, passed=False)]
    assert check({"assessments": [{"code": "CLD-201", "min_score": 70}]}, evidence) == [
        "exam CLD-201: best score 62 < 70"
    ]


def test_exam_not_taken():
    assert check({"assessments": [{"code": "CLD-201", "min_score": 70}]}, [exam("OTHER", 99)]) == [
        "exam CLD-201 not taken"
    ]


def test_a_high_score_marked_failed_does_not_count():
    evidence = [exam("CLD-201", 90, passed=False)]
    assert check({"assessments": [{"code": "CLD-201", "min_score": 70}]}, evidence) == [
        "exam CLD-201: no passed attempt with score >= 70"
    ]


def test_one_good_attempt_among_failures_is_enough():
    evidence = [exam("CLD-201", 40, passed=False), exam("CLD-201", 88)]
    assert check({"assessments": [{"code": "CLD-201", "min_score": 70}]}, evidence) == []


def test_fractional_scores_are_shown_as_given():
    evidence = [exam("CLD-201", 69.5, passed=False)]
    assert check({"assessments": [{"code": "CLD-201", "min_score": 72.5}]}, evidence) == [
        "exam CLD-201: best score 69.5 < 72.5"
    ]


def test_lab_not_passed():
    evidence = [done(AssessmentKind.LAB, "LAB-7", passed=False)]
    assert check({"labs": ["LAB-7"]}, evidence) == ["lab LAB-7 not passed"]
    assert check({"labs": ["LAB-7"]}, [done(AssessmentKind.LAB, "LAB-7")]) == []


def test_an_exam_with_the_lab_code_is_not_a_lab():
    assert check({"labs": ["LAB-7"]}, [exam("LAB-7", 100)]) == ["lab LAB-7 not passed"]


def test_references_count_only_passed_ones():
    evidence = [
        done(AssessmentKind.REFERENCE, "Acme"),
        done(AssessmentKind.REFERENCE, "Globex", passed=False),
    ]
    assert check({"customer_references": 2}, evidence) == ["1 more customer reference needed"]
    assert check({"customer_references": 3}, []) == ["3 more customer references needed"]
    assert check({"customer_references": 1}, evidence) == []


def test_training_not_completed():
    assert check({"trainings": ["TR-100"]}, []) == ["training TR-100 not completed"]
    assert check({"trainings": ["TR-100"]}, [done(AssessmentKind.TRAINING, "TR-100")]) == []


def test_prerequisite_must_be_held():
    assert check({"prerequisites": ["CLD-ASSOC"]}, held={"OTHER"}) == [
        "prerequisite CLD-ASSOC not held"
    ]
    assert check({"prerequisites": ["CLD-ASSOC"]}, held={"CLD-ASSOC"}) == []


def test_every_unmet_requirement_is_listed_in_order():
    requirements = {
        "assessments": [{"code": "CLD-201", "min_score": 70}],
        "labs": ["LAB-1"],
        "customer_references": 1,
        "trainings": ["TR-100"],
        "prerequisites": ["CLD-ASSOC"],
    }
    assert check(requirements) == [
        "exam CLD-201 not taken",
        "lab LAB-1 not passed",
        "1 more customer reference needed",
        "training TR-100 not completed",
        "prerequisite CLD-ASSOC not held",
    ]


def test_evidence_older_than_the_maximum_age_does_not_count():
    requirements = {
        "assessments": [{"code": "CLD-201", "min_score": 70}],
        "trainings": ["TR-100"],
        "evidence_max_age_days": 365,
    }
    old = timedelta(days=366)
    evidence = [exam("CLD-201", 95, ago=old), done(AssessmentKind.TRAINING, "TR-100", ago=old)]
    assert check(requirements, evidence) == [
        "exam CLD-201: evidence older than 365 days does not count",
        "training TR-100: evidence older than 365 days does not count",
    ]


def test_evidence_exactly_at_the_maximum_age_still_counts():
    requirements = {"trainings": ["TR-100"], "evidence_max_age_days": 30}
    evidence = [done(AssessmentKind.TRAINING, "TR-100", ago=timedelta(days=30))]
    assert check(requirements, evidence) == []


def test_old_references_do_not_count_either():
    requirements = {"customer_references": 1, "evidence_max_age_days": 10}
    evidence = [done(AssessmentKind.REFERENCE, "Acme", ago=timedelta(days=11))]
    assert check(requirements, evidence) == ["1 more customer reference needed"]


def test_evidence_after_the_evaluation_time_does_not_count():
    evidence = [exam("CLD-201", 90, ago=-DAY)]
    assert check({"assessments": [{"code": "CLD-201", "min_score": 70}]}, evidence) == [
        "exam CLD-201 not taken"
    ]


@pytest.mark.parametrize(
    "requirements",
    [
        {"assessments": [{"code": "X", "min_score": 101}]},
        {"assessments": [{"code": "X", "min_score": -1}]},
        {"assessments": [{"code": "", "min_score": 50}]},
        {"customer_references": -1},
        {"evidence_max_age_days": 0},
        {"labs": ["LAB-1", "LAB-1"]},
        {"assessments": [{"code": "X", "min_score": 50}, {"code": "X", "min_score": 60}]},
        {"labs": ["bad\x00code"]},
        {"trainings": ["TRN\n1"]},
        {"assessments": [{"code": "CLD-201\n", "min_score": 50}]},
        {"unknown": 1},
    ],
)
def test_malformed_requirements_are_refused(requirements):
    with pytest.raises(ValidationError):
        Requirements.model_validate(requirements)


def test_requirements_round_trip_through_json():
    requirements = Requirements.model_validate(
        {"assessments": [{"code": "CLD-201", "min_score": 70}], "labs": ["LAB-1"]}
    )
    assert Requirements.model_validate(requirements.model_dump(mode="json")) == requirements
