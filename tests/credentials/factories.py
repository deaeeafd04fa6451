"""Awards for tests: record passing evidence, then issue through the credentials service."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.credentials import service
from charter.credentials.models import Award
from charter.credentials.schemas import AwardCreate
from tests.programs.factories import passing_evidence


def award(
    db: Session,
    actor: Principal,
    *,
    person_id: str,
    certification_id: str,
    evidence: bool = True,
    **overrides: Any,
) -> Award:
    """An active award; ``evidence=False`` skips recording the evidence (for overrides)."""
    if evidence:
        passing_evidence(db, actor, person_id=person_id, certification_id=certification_id)
    data = AwardCreate(person_id=person_id, certification_id=certification_id, **overrides)
    return service.issue_award(db, actor, data=data)
