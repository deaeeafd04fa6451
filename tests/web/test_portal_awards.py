"""Recording assessments and issuing, revoking, suspending, reinstating and renewing awards
from the portal; the public credential page shows each change."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from charter.core.auth import Role
from charter.credentials.models import Award
from charter.programs.models import Assessment
from tests.programs.factories import certification
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import SYSTEM, build_world


def _count(sessions, model) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def _manager(client, sessions):
    world = build_world(sessions)
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, user.email, user.password)
    return world


def _exam_certification(sessions) -> tuple[str, str]:
    with sessions() as db, db.begin():
        cert = certification(
            db,
            SYSTEM,
            name="Data Engineer",
            requirements={"assessments": [{"code": "EXAM-DATA", "min_score": 70}]},
        )
        return cert.id, cert.code


def test_recording_an_assessment_then_issuing_after_the_check(client, sessions):
    world = _manager(client, sessions)
    person_id = world.engineer_ids[0]
    certification_id, _code = _exam_certification(sessions)
    person_page = client.get(f"/people/{person_id}").text
    assert f'href="/people/{person_id}/assessments/new"' in person_page
    # The check before recording the exam: not eligible, no form to issue.
    preview = client.get(f"/people/{person_id}/awards/new?certification_id={certification_id}")
    assert preview.status_code == 200
    assert "exam EXAM-DATA not taken" in preview.text
    assert 'id="award-form"' not in preview.text
    form = client.get(f"/people/{person_id}/assessments/new").text
    response = client.post(
        f"/people/{person_id}/assessments",
        data={
            "csrf": csrf_from(form),
            "kind": "exam",
            "code": "EXAM-DATA",
            "score": "88",
            "passed": "yes",
            "assessor": "Pearson VUE",
            "occurred_at": "2026-01-05",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "EXAM-DATA" in client.get(f"/people/{person_id}").text
    preview = client.get(f"/people/{person_id}/awards/new?certification_id={certification_id}")
    assert 'id="eligible"' in preview.text
    response = client.post(
        f"/people/{person_id}/awards",
        data={"csrf": csrf_from(preview.text), "certification_id": certification_id},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert 'id="award-status">active' in page
    credential = re.search(r'href="(/credentials/[^"]+)" id="credential-link"', page).group(1)
    assert client.get(credential).status_code == 200


def test_a_bad_assessment_shows_errors_by_field_and_records_nothing(client, sessions):
    world = _manager(client, sessions)
    person_id = world.engineer_ids[0]
    before = _count(sessions, Assessment)
    csrf = csrf_from(client.get(f"/people/{person_id}/assessments/new").text)
    response = client.post(
        f"/people/{person_id}/assessments",
        data={
            "csrf": csrf,
            "kind": "exam",
            "code": "EXAM-X",
            "score": "",
            "passed": "yes",
            "assessor": "",
            "occurred_at": "2999-01-01",
        },
    )
    assert response.status_code == 422
    assert 'id="assessor-error"' in response.text
    response = client.post(
        f"/people/{person_id}/assessments",
        data={
            "csrf": csrf,
            "kind": "exam",
            "code": "EXAM-X",
            "passed": "yes",
            "assessor": "Lab",
            "occurred_at": "2999-01-01",
        },
    )
    assert response.status_code == 422
    assert re.search(r'id="occurred_at-error">[^<]*future', response.text)
    response = client.post(
        f"/people/{person_id}/assessments",
        data={
            "kind": "exam",
            "code": "X",
            "passed": "yes",
            "assessor": "A",
            "occurred_at": "2026-01-01",
        },
    )
    assert response.status_code == 403
    assert _count(sessions, Assessment) == before


def test_revoking_needs_a_reason_and_the_public_page_shows_it(client, sessions):
    world = _manager(client, sessions)
    award_id = world.award_ids[0]
    page = client.get(f"/awards/{award_id}").text
    credential = re.search(r'href="(/credentials/[^"]+)"', page).group(1)
    assert 'data-status="valid"' in client.get(credential).text
    csrf = csrf_from(page)
    refused = client.post(f"/awards/{award_id}/revoke", data={"csrf": csrf, "reason": "  "})
    assert refused.status_code == 422
    assert re.search(r'id="revoke-reason-error">[^<]*reason is required', refused.text)
    assert 'data-status="valid"' in client.get(credential).text
    assert client.post(f"/awards/{award_id}/revoke", data={"reason": "x"}).status_code == 403
    done = client.post(
        f"/awards/{award_id}/revoke",
        data={"csrf": csrf, "reason": "Exam withdrawn"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert 'id="award-status">revoked' in page
    assert "Exam withdrawn" in page
    assert 'id="revoke-form"' not in page
    assert 'data-status="revoked"' in client.get(credential).text


def test_suspend_then_reinstate(client, sessions):
    world = _manager(client, sessions)
    award_id = world.award_ids[1]
    csrf = csrf_from(client.get(f"/awards/{award_id}").text)
    client.post(f"/awards/{award_id}/suspend", data={"csrf": csrf, "reason": "Audit"})
    page = client.get(f"/awards/{award_id}").text
    assert 'id="award-status">suspended' in page
    credential = re.search(r'href="(/credentials/[^"]+)"', page).group(1)
    assert 'data-status="suspended"' in client.get(credential).text
    assert 'id="reinstate-form"' in page
    client.post(f"/awards/{award_id}/reinstate", data={"csrf": csrf, "reason": ""})
    page = client.get(f"/awards/{award_id}?done=reinstated").text
    assert 'id="award-status">active' in page
    assert "Done: the award is reinstated" in page


def test_renewing_inside_the_window_and_a_refusal_shown_on_the_page(client, sessions):
    world = _manager(client, sessions)
    award_id = world.award_ids[0]
    page = client.get(f"/awards/{award_id}").text
    old_credential = re.search(r'href="(/credentials/[^"]+)"', page).group(1)
    csrf = csrf_from(page)
    # The portal world's awards are valid for 60 days and renewable in their last 60.
    done = client.post(f"/awards/{award_id}/renew", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert "Done: the award is renewed" in page
    new_credential = re.search(r'href="(/credentials/[^"]+)" id="credential-link"', page).group(1)
    assert new_credential != old_credential  # validUntil is signed: a new credential
    assert 'data-status="valid"' in client.get(new_credential).text
    with sessions() as db:
        assert db.get(Award, award_id).renewal_count == 1
    client.post(f"/awards/{award_id}/suspend", data={"csrf": csrf, "reason": "Audit"})
    refused = client.post(f"/awards/{award_id}/renew", data={"csrf": csrf})
    assert refused.status_code == 422
    assert re.search(r'id="action-error">[^<]*suspended award cannot be renewed', refused.text)
    with sessions() as db:
        assert db.get(Award, award_id).renewal_count == 1


def test_readers_get_the_award_page_without_forms_and_partners_a_404(client, sessions):
    world = build_world(sessions)
    auditor = web_user(sessions, Role.AUDITOR)
    sign_in(client, auditor.email, auditor.password)
    page = client.get(f"/awards/{world.award_ids[0]}")
    assert page.status_code == 200
    assert 'method="post"' not in page.text.split("</header>", 1)[1]
    person = client.get(f"/people/{world.engineer_ids[0]}").text
    assert "/awards/new" not in person
    assert "/assessments/new" not in person
    assert client.get(f"/people/{world.engineer_ids[0]}/awards/new").status_code == 404
    client.cookies.clear()
    member = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    sign_in(client, member.email, member.password)
    assert client.get(f"/awards/{world.award_ids[0]}").status_code == 404
