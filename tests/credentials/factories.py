"""Awards for tests: record passing evidence, then issue through the credentials service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.core.ids import new_id
from charter.credentials import issuance, proofs, service
from charter.credentials.models import Award
from charter.credentials.schemas import AwardCreate
from charter.crypto import keyring
from charter.programs import service as programs
from tests.partners.factories import partner, person
from tests.programs.factories import certification, passing_evidence

HOLDER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
"""A holder's DID (did:key) for credentials that name their subject."""


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


def many_awards(db: Session, actor: Principal, count: int) -> list[Award]:
    """``count`` awards of one certification to people of one firm, inserted without their
    credentials (for the bulk issuance tests)."""
    firm = partner(db, actor)
    cert = certification(db, actor)
    made = []
    for _ in range(count):
        someone = person(db, actor, partner_id=firm.id)
        passing_evidence(db, actor, person_id=someone.id, certification_id=cert.id)
        version = programs.criteria_in_force(db, certification_id=cert.id, at=clock.now())
        row = Award(
            id=new_id("awd"),
            certification_id=cert.id,
            criteria_version_id=version.id,
            subject_type="person",
            person_id=someone.id,
            partner_id=firm.id,
            status="active",
            issued_at=clock.now(),
            valid_until=clock.now() + timedelta(days=365),
            renewal_count=0,
        )
        db.add(row)
        made.append(row)
    db.flush()
    return made


def credential_of(db: Session, award_id: str) -> issuance.PublicCredential:
    """The award's current credential (which it must have)."""
    found = issuance.current_credential_for_award(db, award_id)
    assert found is not None
    return found


def verifies(db: Session, document: dict[str, Any]) -> bool:
    """Whether a signed credential's proof verifies with its issuer's key."""
    public_key = keyring.public_key_for(db, document["proof"][0]["verificationMethod"])
    return public_key is not None and proofs.verify_proof(document, public_key)
