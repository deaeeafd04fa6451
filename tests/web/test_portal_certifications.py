"""The certification pages: list, create with errors by field, a page with its criteria
versions, publishing a version and seeing the holders it affects."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from charter.core.auth import Role
from charter.core.models import Event
from charter.programs.models import Certification, CriteriaVersion
from charter.web.portal import certifications
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import build_world

VALID = {
    "code": "SEC-301",
    "name": "Security Specialist",
    "track": "technical",
    "level": "professional",
    "description": "Hardens deployments.",
    "validity_days": "365",
    "renewal_window_days": "60",
    "narrative": "Pass the security exam and the lab.",
    "exam_code": "EXAM-SEC-301",
    "exam_min_score": "80",
    "labs": "LAB-SEC-1; LAB-SEC-2",
}


def _manager(client, sessions):
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, user.email, user.password)
    return csrf_from(client.get("/certifications/new").text)


def _count(sessions, model) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def test_a_program_manager_creates_a_certification_and_sees_its_criteria(client, sessions):
    csrf = _manager(client, sessions)
    response = client.post("/certifications", data={**VALID, "csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Security Specialist" in page.text
    assert "Exam EXAM-SEC-301 passed with at least 80%" in page.text
    assert "Lab LAB-SEC-2 passed" in page.text
    assert "in force" in page.text
    listing = client.get("/certifications").text
    assert "SEC-301" in listing


def test_errors_are_shown_next_to_their_field_and_nothing_is_written(client, sessions):
    csrf = _manager(client, sessions)
    before = _count(sessions, Certification), _count(sessions, Event)
    bad = {**VALID, "validity_days": "30", "renewal_window_days": "90", "csrf": csrf}
    response = client.post("/certifications", data=bad)
    assert response.status_code == 422
    assert re.search(r'id="renewal_window_days-error">[^<]*validity', response.text)
    assert 'value="Security Specialist"' in response.text  # what was typed comes back
    bad = {**VALID, "exam_min_score": "180", "code": "", "csrf": csrf}
    response = client.post("/certifications", data=bad)
    assert response.status_code == 422
    assert 'id="exam_min_score-error"' in response.text
    assert 'id="code-error"' in response.text
    assert (_count(sessions, Certification), _count(sessions, Event)) == before


def test_a_duplicate_code_is_refused_on_the_form(client, sessions):
    csrf = _manager(client, sessions)
    client.post("/certifications", data={**VALID, "csrf": csrf})
    response = client.post("/certifications", data={**VALID, "csrf": csrf})
    assert response.status_code == 422
    assert "already exists" in response.text
    assert _count(sessions, Certification) == 1


def test_the_form_without_its_token_is_refused(client, sessions):
    _manager(client, sessions)
    response = client.post("/certifications", data=VALID)
    assert response.status_code == 403
    assert _count(sessions, Certification) == 0


def _publish_new_lab(client, sessions):
    """As a program manager, publish version 2 of the portal world's certification (a new lab,
    in force far ahead); the certification's id and the answer."""
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, user.email, user.password)
    listing = client.get("/certifications").text
    certification_id = re.search(r'data-certification="(crt_[^"]+)"', listing).group(1)
    page = client.get(f"/certifications/{certification_id}").text
    response = client.post(
        f"/certifications/{certification_id}/criteria",
        data={
            "csrf": csrf_from(page),
            "narrative": "Also pass the new lab.",
            "labs": "LAB-NEW",
            "effective_from": "2999-01-01",
        },
        follow_redirects=False,
    )
    return certification_id, response


def test_publishing_a_version_shows_the_holders_it_affects(client, sessions):
    world = build_world(sessions)
    certification_id, response = _publish_new_lab(client, sessions)
    assert response.status_code == 303
    page = client.get(f"/certifications/{certification_id}").text
    assert "Who version 2 affects" in page
    assert "scheduled" in page
    # Both Harbor engineers and Quill's holder lack the new lab.
    assert page.count('data-meets="no"') == 3
    for engineer_id in world.engineer_ids:
        assert f'data-holder="{engineer_id}"' in page
    assert "lab LAB-NEW not passed" in page
    # The portal world's Gold tier counts technically certified people.
    assert re.search(r'data-tier="gold">Gold: counts toward 2 certified in technical', page)
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(CriteriaVersion)) == 2


def test_a_version_dated_before_the_latest_is_refused_by_its_field(client, sessions):
    build_world(sessions)
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, user.email, user.password)
    listing = client.get("/certifications").text
    certification_id = re.search(r'data-certification="(crt_[^"]+)"', listing).group(1)
    csrf = csrf_from(client.get(f"/certifications/{certification_id}").text)
    for date, words in (("2001-01-01", "must not be before"), ("tomorrow", "must be a date")):
        response = client.post(
            f"/certifications/{certification_id}/criteria",
            data={"csrf": csrf, "narrative": "Earlier", "effective_from": date},
        )
        assert response.status_code == 422
        assert re.search(rf'id="effective_from-error">[^<]*{words}', response.text)
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(CriteriaVersion)) == 1


def test_readers_see_the_pages_without_forms(client, sessions):
    build_world(sessions)
    user = web_user(sessions, Role.AUDITOR)
    sign_in(client, user.email, user.password)
    listing = client.get("/certifications").text
    assert "/certifications/new" not in listing
    certification_id = re.search(r'data-certification="(crt_[^"]+)"', listing).group(1)
    page = client.get(f"/certifications/{certification_id}").text
    assert "Who version 1 affects" in page
    assert "criteria-form" not in page
    assert client.get("/certifications/new").status_code == 404


def test_a_certification_held_by_many_lists_those_falling_short_first_and_at_most_a_page(
    client, sessions, monkeypatch
):
    build_world(sessions)
    certification_id, response = _publish_new_lab(client, sessions)
    assert response.status_code == 303
    monkeypatch.setattr(certifications, "HOLDERS_SHOWN", 2)
    page = client.get(f"/certifications/{certification_id}").text
    assert page.count("data-holder=") == 2
    assert page.count('data-meets="no"') == 2
    assert "Listed: 2 of the 3 judged, those falling short first." in page
    assert "3 current holders; 3 would not meet it" in page
