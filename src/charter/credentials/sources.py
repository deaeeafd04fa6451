"""Reading what credentials are built from, for one award or tens of thousands, in few queries.

The tables belong to programs and partners; this only reads them. One query per award would
dominate bulk issuance, so everything is loaded for a whole batch (or slice) at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Text, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from charter.core.csvimport import chunks
from charter.credentials.documents import AwardLike, Holders, Programs
from charter.partners.models import Person, PersonEmail
from charter.programs.models import Certification, CriteriaVersion

JSON_LOOKUP_CHUNK = 16_000
"""Most ids looked up per query where they travel as one JSON parameter (PostgreSQL)."""


def one_of(db: Session, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL one JSON parameter instead of one per value.

    Bulk issuance looks up tens of thousands of ids. PostgreSQL parses and plans a long IN list
    at every query, and psycopg writes an array parameter element by element in Python; the
    standard library writes the JSON text in C, and the server unpacks it once (an InitPlan
    whose array drives an index scan, as ``= ANY(array)`` would).
    """
    if db.get_bind().dialect.name == "postgresql":
        array_text = bindparam(None, json.dumps(list(values)), type_=Text)
        unpacked = select(func.jsonb_array_elements_text(cast(array_text, JSONB)))
        return column == any_(func.array(unpacked.scalar_subquery()))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


def id_chunks(db: Session, values: Sequence[str]) -> Iterator[Sequence[str]]:
    """``values`` in slices for :func:`one_of`: fewer, larger ones where they are one
    parameter (each query costs a statement compile here and a plan on the server)."""
    postgresql = db.get_bind().dialect.name == "postgresql"
    return chunks(values, JSON_LOOKUP_CHUNK) if postgresql else chunks(values)


def load_programs(db: Session, awards: Sequence[AwardLike]) -> Programs:
    """The certifications and criteria versions of ``awards``, in a few queries."""
    pairs = {(award.certification_id, award.criteria_version_id) for award in awards}
    certification_ids = sorted({certification_id for certification_id, _ in pairs})
    version_ids = sorted({version_id for _, version_id in pairs})
    certifications: dict[str, Certification] = {}
    criteria: dict[str, CriteriaVersion] = {}
    for part in chunks(certification_ids):
        for row in db.scalars(select(Certification).where(Certification.id.in_(part))):
            certifications[row.id] = row
    for part in chunks(version_ids):
        for version in db.scalars(select(CriteriaVersion).where(CriteriaVersion.id.in_(part))):
            criteria[version.id] = version
    return Programs(certifications, criteria)


def load_holders(db: Session, awards: Sequence[AwardLike]) -> Holders:
    """The primary email and DID of the holders of ``awards``."""
    person_ids = sorted({award.person_id for award in awards if award.person_id})
    emails: dict[str, str] = {}
    dids: dict[str, str] = {}
    # A correlated subquery, not an outer join: it probes the email index once per person
    # whatever the planner estimates. Right after an import (the usual moment for a bulk
    # issuance) PostgreSQL has no statistics on the new rows and would hash-join the whole
    # emails table for every chunk.
    primary_email = (
        select(PersonEmail.email)
        .where(PersonEmail.person_id == Person.id, PersonEmail.primary.is_(True))
        .limit(1)
        .scalar_subquery()
    )
    for part in id_chunks(db, person_ids):
        query = select(Person.id, primary_email, Person.did).where(one_of(db, Person.id, part))
        for person_id, email, did in db.execute(query):
            if email is not None:
                emails[person_id] = email
            if did:
                dids[person_id] = did
    return Holders(emails, dids)
