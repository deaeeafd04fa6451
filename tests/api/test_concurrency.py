"""Concurrent identical requests against a real server create exactly one award."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from charter.core.auth import Principal, Role
from charter.credentials.models import Award
from tests.partners.factories import partner, person
from tests.programs.factories import certification, passing_evidence

REQUESTS = 20


@pytest.fixture
def eligible(sessions):
    system = Principal.system("tests")
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        holder = person(db, system, partner_id=firm.id)
        cert = certification(db, system)
        passing_evidence(db, system, person_id=holder.id, certification_id=cert.id)
        return holder.id, cert.id


def _post_all(url, headers, body):
    with httpx.Client(base_url=url, timeout=60) as http:

        def post(_):
            return http.post("/api/v1/awards", json=body, headers=headers)

        with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            return list(pool.map(post, range(REQUESTS)))


def test_one_idempotency_key_creates_one_award(live_server, make, eligible, db):
    person_id, certification_id = eligible
    pm = make.login(Role.PROGRAM_MANAGER)
    body = {"person_id": person_id, "certification_id": certification_id}
    headers = {**pm.headers, "Idempotency-Key": "award-once-7f3a"}

    responses = _post_all(live_server, headers, body)

    assert [r.status_code for r in responses] == [201] * REQUESTS
    assert len({r.json()["id"] for r in responses}) == 1
    count = db.scalar(select(func.count()).select_from(Award).where(Award.person_id == person_id))
    assert count == 1


def test_without_a_key_duplicates_are_refused_not_doubled(live_server, make, eligible, db):
    person_id, certification_id = eligible
    pm = make.login(Role.PROGRAM_MANAGER)
    body = {"person_id": person_id, "certification_id": certification_id}

    responses = _post_all(live_server, pm.headers, body)

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1
    assert set(statuses) <= {201, 409}
    count = db.scalar(select(func.count()).select_from(Award).where(Award.person_id == person_id))
    assert count == 1
