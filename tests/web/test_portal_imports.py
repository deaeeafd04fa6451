"""CSV uploads in the portal: the per-row report before anything is written, the confirmation
bound to the file's SHA-256, and issuing the eligible awards of a file alone."""

from __future__ import annotations

import csv
import hashlib
import io
import re

from sqlalchemy import func, select

from charter.core.auth import Role
from charter.core.models import Event
from charter.credentials.models import Award
from charter.partners.models import Partner, Person
from charter.programs.models import Assessment, Certification
from tests.partners.factories import person
from tests.programs.factories import passing_evidence
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import SYSTEM, build_world

PARTNERS = (
    "external_id,name,type,regions,country,website\r\n"
    "P1,Northwind Consulting,implementation,emea;na,DE,https://northwind.example.com\r\n"
    "P2,Contoso Resellers,reseller,apac,JP,\r\n"
)
BAD_PARTNERS = PARTNERS + "P3,Broken Firm,not-a-type,emea,DE,\r\n"


def _count(sessions, model) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def _manager(client, sessions) -> str:
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, user.email, user.password)
    return csrf_from(client.get("/imports").text)


def _upload(client, csrf: str, kind: str, text: str, name: str = "file.csv"):
    return client.post(
        "/imports",
        data={"csrf": csrf, "kind": kind},
        files={"file": (name, text.encode(), "text/csv")},
    )


def _outcomes(html: str) -> dict[int, str]:
    return {
        int(line): outcome
        for line, outcome in re.findall(r'data-line="(\d+)" data-outcome="(\w+)"', html)
    }


def test_a_file_with_a_bad_row_is_reported_and_nothing_is_written(client, sessions):
    csrf = _manager(client, sessions)
    events = _count(sessions, Event)
    response = _upload(client, csrf, "partners", BAD_PARTNERS)
    assert response.status_code == 200
    assert _outcomes(response.text) == {2: "valid", 3: "valid", 4: "error"}
    assert "type:" in response.text
    assert 'id="confirm-form"' not in response.text
    assert 'id="nothing-imported"' in response.text
    assert (_count(sessions, Partner), _count(sessions, Event)) == (0, events)


def test_a_good_file_is_previewed_then_confirmed_by_its_digest(client, sessions):
    csrf = _manager(client, sessions)
    preview = _upload(client, csrf, "partners", PARTNERS)
    assert _outcomes(preview.text) == {2: "created", 3: "created"}
    digest = hashlib.sha256(PARTNERS.encode()).hexdigest()
    assert digest in preview.text
    assert _count(sessions, Partner) == 0
    # Another digest (another file) cannot be confirmed for the one previewed.
    other = client.post("/imports/confirm", data={"csrf": csrf, "sha256": "0" * 64})
    assert other.status_code == 409
    assert _count(sessions, Partner) == 0
    assert client.post("/imports/confirm", data={"sha256": digest}).status_code == 403
    done = client.post("/imports/confirm", data={"csrf": csrf, "sha256": digest})
    assert done.status_code == 200
    assert "2 created, 0 updated, 0 skipped" in done.text
    assert _count(sessions, Partner) == 2
    # The upload is gone once confirmed: confirming again does nothing.
    again = client.post("/imports/confirm", data={"csrf": csrf, "sha256": digest})
    assert again.status_code == 409
    assert _count(sessions, Partner) == 2
    # The same file again: every row is skipped.
    preview = _upload(client, csrf, "partners", PARTNERS)
    assert _outcomes(preview.text) == {2: "skipped", 3: "skipped"}


def test_people_and_assessments_report_updates_and_errors_per_line(client, sessions):
    csrf = _manager(client, sessions)
    digest = hashlib.sha256(PARTNERS.encode()).hexdigest()
    _upload(client, csrf, "partners", PARTNERS)
    client.post("/imports/confirm", data={"csrf": csrf, "sha256": digest})
    people = (
        "external_id,partner_external_id,given_name,family_name,track,emails\r\n"
        "E1,P1,Ada,Lovelace,technical,ada@northwind.example.com\r\n"
        "E2,P9,Bob,Nobody,sales,bob@northwind.example.com\r\n"
    )
    preview = _upload(client, csrf, "people", people)
    assert _outcomes(preview.text) == {2: "valid", 3: "error"}
    assert "P9" in preview.text
    assert _count(sessions, Person) == 0
    assessments = (
        "external_id,person_external_id,kind,code,passed,assessor,occurred_at,score\r\n"
        "A1,NOBODY,exam,EXAM-1,true,VUE,2026-01-01T00:00:00Z,80\r\n"
    )
    preview = _upload(client, csrf, "assessments", assessments)
    assert _outcomes(preview.text) == {2: "error"}
    assert _count(sessions, Assessment) == 0


def test_a_header_problem_is_shown_for_the_file(client, sessions):
    csrf = _manager(client, sessions)
    response = _upload(client, csrf, "partners", "name,what\r\nx,y\r\n")
    assert "missing column" in response.text
    assert 'id="confirm-form"' not in response.text


def test_eligible_awards_alone_are_issued_and_the_rejected_rows_downloaded(client, sessions):
    world = build_world(sessions)
    csrf = _manager(client, sessions)
    with sessions() as db, db.begin():
        certification_id = db.get(Award, world.award_ids[0]).certification_id
        cert_code = db.get(Certification, certification_id).code
        newcomer = person(db, SYSTEM, partner_id=world.harbor_id)
        passing_evidence(db, SYSTEM, person_id=newcomer.id, certification_id=certification_id)
        newcomer_id = newcomer.id
    holder = world.engineer_ids[0]
    # Line 2: the engineer already holds it; line 3: no such person; line 4 is eligible.
    awards = (
        "external_id,person_external_id,certification_code\r\n"
        f"W1,{holder},{cert_code}\r\n"
        f"W2,per_01JAAAAAAAAAAAAAAAAAAAAAAA,{cert_code}\r\n"
        f"W3,{newcomer_id},{cert_code}\r\n"
    )
    before = _count(sessions, Award)
    preview = _upload(client, csrf, "awards", awards)
    assert _outcomes(preview.text) == {2: "error", 3: "error", 4: "created"}
    assert "already holds" in preview.text
    assert 'id="confirm-form"' not in preview.text
    assert _count(sessions, Award) == before
    digest = hashlib.sha256(awards.encode()).hexdigest()
    download = client.post("/imports/rejected", data={"csrf": csrf, "sha256": digest})
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == [
        "line",
        "reason",
        "external_id",
        "person_external_id",
        "certification_code",
        "override_reason",
    ]
    assert [row[0] for row in rows[1:]] == ["2", "3"]
    assert "already holds" in rows[1][1]
    assert rows[2][3] == "per_01JAAAAAAAAAAAAAAAAAAAAAAA"
    assert _count(sessions, Award) == before
    done = client.post(
        "/imports/confirm", data={"csrf": csrf, "sha256": digest, "eligible_only": "yes"}
    )
    assert done.status_code == 200
    assert "1 created" in done.text
    assert 'id="left-out"' in done.text
    with sessions() as db:
        issued = db.scalars(select(Award).where(Award.external_id == "W3")).one()
        assert issued.person_id == newcomer_id
    assert _count(sessions, Award) == before + 1


def test_text_from_the_file_is_escaped_in_the_report(client, sessions):
    csrf = _manager(client, sessions)
    script = "<script>alert(1)</script>"
    people = (
        "external_id,partner_external_id,given_name,family_name,track,emails\r\n"
        f"E1,{script},Ada,Lovelace,technical,ada@northwind.example.com\r\n"
    )
    response = _upload(client, csrf, "people", people, name=f"{script}.csv")
    assert response.status_code == 200
    assert _outcomes(response.text) == {2: "error"}
    assert "<script" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(client, sessions, settings):
    csrf = _manager(client, sessions)
    big = "external_id,name,type,regions,country,website\r\n" + "x" * 1_000_000
    response = _upload(client, csrf, "partners", big)
    assert response.status_code == 413
    assert "import it with the CLI" in response.text
    uploads = settings.data_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
