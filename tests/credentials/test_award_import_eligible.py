"""Issuing only the eligible rows of an awards file, and checking a file without writing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from charter.core.errors import Invalid
from charter.core.models import Event
from charter.credentials.imports import check_awards, import_awards
from charter.credentials.models import Award, IssuedCredential
from tests.partners.factories import partner, person
from tests.programs.factories import certification, passing_evidence


def _file(rows: list[str]) -> bytes:
    return ("external_id,person_external_id,certification_code\n" + "\n".join(rows)).encode()


def _world(db, actor):
    firm = partner(db, actor)
    cert = certification(db, actor)
    ready = person(db, actor, partner_id=firm.id)
    passing_evidence(db, actor, person_id=ready.id, certification_id=cert.id)
    unready = person(db, actor, partner_id=firm.id)
    return cert, ready, unready


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_eligible_rows_are_issued_and_the_others_listed_with_reasons(db, system):
    cert, ready, unready = _world(db, system)
    data = _file(
        [f"A1,{ready.id},{cert.code}", f"A2,{unready.id},{cert.code}", "A3,nobody,NOPE", "x"]
    )
    with pytest.raises(Invalid):
        import_awards(db, system, source=data)
    assert _count(db, Award) == 0
    report = import_awards(db, system, source=data, eligible_only=True)
    assert report.created == 1
    assert [issued.external_id for issued in report.issued] == ["A1"]
    assert [row.line for row in report.rejected] == [3, 4, 5]
    assert "not met" in report.rejected[0].reasons[0]
    assert report.rejected[0].values["person_external_id"] == unready.id
    assert report.rejected[2].values == {}  # a row that could not be read has no values
    award = db.scalars(select(Award)).one()
    assert award.person_id == ready.id
    assert _count(db, IssuedCredential) == 1


def test_checking_writes_nothing_and_says_what_would_be_issued(db, system):
    cert, ready, unready = _world(db, system)
    events = _count(db, Event)
    data = _file([f"A1,{ready.id},{cert.code}", f"A2,{unready.id},{cert.code}"])
    report = check_awards(db, system, source=data)
    assert report.created == 1
    assert [row.line for row in report.rejected] == [3]
    assert (_count(db, Award), _count(db, Event)) == (0, events)
