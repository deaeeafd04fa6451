"""The programs domain's named values: certification levels and assessment kinds.

Apart from the tables so that the pure rules and the API shapes can use them without the ORM.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """How advanced a certification is."""

    FOUNDATION = "foundation"
    ASSOCIATE = "associate"
    PROFESSIONAL = "professional"
    EXPERT = "expert"


class AssessmentKind(StrEnum):
    """What a person did toward a certification."""

    EXAM = "exam"
    LAB = "lab"
    REFERENCE = "reference"
    TRAINING = "training"
