"""``charter import ...`` and ``charter awards bulk``: all-or-nothing, re-runnable, rows named."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from charter.config import get_settings
from charter.core.models import Event
from charter.credentials import issuance
from charter.credentials.models import Award
from charter.partners.models import Employment, Partner, Person, PersonEmail
from charter.programs.models import Assessment
from tests.programs import factories as programs_factories

PARTNERS = [
    "external_id,name,type,regions,country,website",
    "P1,Northwind Consulting,implementation,emea;na,DE,https://northwind.example.com",
    "P2,Contoso Resellers,reseller,apac,JP,",
]
PEOPLE_HEADER = "external_id,partner_external_id,given_name,family_name,track,emails"


def people_lines(count: int) -> list[str]:
    return [PEOPLE_HEADER] + [
        f"E{n:03d},P{1 + n % 2},Given{n},Family{n},technical,person{n}@northwind.example.com"
        for n in range(count)
    ]


def count(db, model) -> int:
    value = db.scalar(select(func.count()).select_from(model))
    db.rollback()  # end the read: on SQLite an open transaction would hold the write lock
    return value


def events_of(db, type_: str) -> int:
    value = db.scalar(select(func.count()).select_from(Event).where(Event.type == type_))
    db.rollback()
    return value


def test_partners_and_people_are_imported_with_their_firms(cli, write_csv, db):
    result = cli("import", "partners", str(write_csv("partners.csv", PARTNERS)))
    assert result.exit_code == 0, result.output
    assert "2 partners created, 0 skipped" in result.stdout
    result = cli("import", "people", str(write_csv("people.csv", people_lines(4))))
    assert result.exit_code == 0, result.output
    assert "4 people created" in result.stdout

    northwind = db.scalar(select(Partner).where(Partner.external_id == "P1"))
    assert northwind.regions == ["emea", "na"]
    assert northwind.status == "applicant"
    person = db.scalar(select(Person).where(Person.external_id == "E001"))
    assert person.partner_id == db.scalar(select(Partner.id).where(Partner.external_id == "P2"))
    assert person.emails == ["person1@northwind.example.com"]
    assert count(db, Employment) == 4
    assert events_of(db, "person.created") == 4
    assert events_of(db, "import.completed") == 2


def test_people_may_carry_a_holder_did_and_a_bad_one_is_named(cli, write_csv, db):
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    holder = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    header = f"{PEOPLE_HEADER},did"
    rows = [f"{line}," for line in people_lines(3)[1:]]
    rows[0] = rows[0] + holder

    bad = cli("import", "people", str(write_csv("bad.csv", [header, *rows[:2], rows[2] + "x"])))

    assert bad.exit_code == 1
    assert "line 4: did" in bad.stderr
    assert count(db, Person) == 0

    good = cli("import", "people", str(write_csv("people.csv", [header, *rows])))

    assert good.exit_code == 0, good.output
    dids = dict(db.execute(select(Person.external_id, Person.did)).all())
    assert dids == {"E000": holder, "E001": None, "E002": None}


def test_two_bad_rows_in_a_hundred_are_both_reported_and_nothing_is_written(cli, write_csv, db):
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    lines = people_lines(100)
    lines[9] = "E008,P1,Bad,Email,technical,not-an-email"  # line 10
    lines[56] = "E055,P9,Lost,Firm,sales,lost@northwind.example.com"  # line 57
    before = count(db, Event)

    result = cli("import", "people", str(write_csv("people.csv", lines)))

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "2 of 100 rows are invalid; nothing was imported" in result.stderr
    assert "line 10: emails" in result.stderr
    assert "line 57: partner_external_id: no partner 'P9'" in result.stderr
    assert count(db, Person) == 0
    assert count(db, PersonEmail) == 0
    assert count(db, Event) == before


def test_duplicates_within_the_file_are_reported(cli, write_csv):
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    lines = [
        *people_lines(3),
        "E000,P1,Again,Same Id,sales,again@northwind.example.com",
        "E777,P1,Same,Email,sales,PERSON1@northwind.example.com",
    ]
    result = cli("import", "people", str(write_csv("people.csv", lines)))
    assert result.exit_code == 1
    assert "line 5: external_id 'E000' is already used on line 2" in result.stderr
    assert "line 6: emails: person1@northwind.example.com is already used on line 3" in (
        result.stderr
    )


def test_importing_the_same_file_twice_creates_nothing_the_second_time(cli, write_csv, db):
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    path = write_csv("people.csv", people_lines(30))
    assert cli("import", "people", str(path)).exit_code == 0
    people, emails = count(db, Person), count(db, PersonEmail)

    again = cli("import", "people", str(path))

    assert again.exit_code == 0, again.output
    assert "0 people created, 30 skipped" in again.stdout
    assert "line 2: E000: skipped, already imported" in again.stdout
    assert (count(db, Person), count(db, PersonEmail)) == (people, emails) == (30, 30)
    assert events_of(db, "person.created") == 30
    again_partners = cli("import", "partners", str(write_csv("partners2.csv", PARTNERS)))
    assert "0 partners created, 2 skipped" in again_partners.stdout


def test_a_changed_row_updates_what_it_created_and_says_what_changed(cli, write_csv, db):
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    assert cli("import", "people", str(write_csv("people.csv", people_lines(3)))).exit_code == 0
    changed_partners = [
        PARTNERS[0],
        "P1,Northwind Consulting GmbH,implementation,emea,DE,https://northwind.example.com",
        PARTNERS[2],
        "P3,Fabrikam Services,msp,na,US,",
    ]
    people = people_lines(3)
    people[2] = "E001,P2,Given1,Married-Name,support,person1@northwind.example.com"

    firms = cli("import", "partners", str(write_csv("partners2.csv", changed_partners)))
    persons = cli("import", "people", str(write_csv("people2.csv", people)))

    assert firms.exit_code == 0, firms.output
    assert "1 partners created, 1 updated, 1 skipped" in firms.stdout
    assert "line 2: P1: updated name, regions" in firms.stdout
    northwind = db.scalar(select(Partner).where(Partner.external_id == "P1"))
    assert (northwind.name, northwind.regions) == ("Northwind Consulting GmbH", ["emea"])
    assert persons.exit_code == 0, persons.output
    assert "0 people created, 1 updated, 2 skipped" in persons.stdout
    assert "line 3: E001: updated family_name, track" in persons.stdout
    person = db.scalar(select(Person).where(Person.external_id == "E001"))
    assert (person.family_name, person.track) == ("Married-Name", "support")
    assert events_of(db, "partner.updated") == 1
    assert events_of(db, "person.updated") == 1
    [completed] = db.scalars(
        select(Event).where(Event.type == "import.completed").order_by(Event.seq.desc()).limit(1)
    )
    assert completed.payload["updated"] == 1
    db.rollback()


def test_a_row_moving_a_person_or_changing_addresses_is_refused_and_nothing_changes(
    cli, write_csv, db
):
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    assert cli("import", "people", str(write_csv("people.csv", people_lines(3)))).exit_code == 0
    lines = people_lines(3)
    lines[1] = "E000,P2,Given0,Renamed,technical,person0@northwind.example.com"  # firm changes
    lines[2] = "E001,P2,Given1,Renamed,technical,other@northwind.example.com"  # address changes
    lines[3] = "E002,P1,Given2,Renamed,technical,person2@northwind.example.com"  # fine alone
    before = count(db, Event)

    result = cli("import", "people", str(write_csv("people2.csv", lines)))

    assert result.exit_code == 1
    assert "line 2: partner_external_id: a person changes firm by joining" in result.stderr
    assert "line 3: emails: a person's addresses are added and removed" in result.stderr
    assert db.scalar(select(Person.family_name).where(Person.external_id == "E002")) == "Family2"
    db.rollback()
    assert count(db, Event) == before


def test_a_missing_column_is_reported_before_any_row(cli, write_csv, db):
    lines = [
        "external_id,partner_external_id,given_name,family_name,track,nickname",
        "E1,,Ada,Lovelace,technical,ada",
    ]
    result = cli("import", "people", str(write_csv("people.csv", lines)))
    assert result.exit_code == 1
    assert "missing column(s): emails" in result.stderr
    assert "unknown column(s): nickname" in result.stderr
    assert count(db, Person) == 0


def test_a_byte_order_mark_and_a_person_without_a_firm_are_accepted(cli, tmp_path, db):
    path = tmp_path / "people.csv"
    path.write_bytes(
        (
            "\ufeff"
            + PEOPLE_HEADER
            + "\r\nE1,,Ada,Lovelace,Technical,ada@example.org;ada2@example.org\r\n"
        ).encode()
    )
    result = cli("import", "people", str(path))
    assert result.exit_code == 0, result.output
    person = db.scalar(select(Person))
    assert person.partner_id is None
    assert person.track == "technical"
    assert person.primary_email == "ada@example.org"


def test_a_missing_file_is_a_usage_error(cli, tmp_path):
    result = cli("import", "people", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2


ASSESSMENT_HEADER = (
    "external_id,person_external_id,kind,code,score,passed,assessor,occurred_at,"
    "evidence_url,evidence_sha256"
)


def test_awards_are_issued_in_bulk_only_when_criteria_are_met(cli, write_csv, db, system):
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    assert cli("import", "people", str(write_csv("people.csv", people_lines(4)))).exit_code == 0
    certification = programs_factories.certification(
        db, system, effective_from=datetime.now(UTC) - timedelta(days=30)
    )
    db.commit()
    exam = programs_factories.exam_code(certification)
    code = certification.code
    when = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    assessments = [
        ASSESSMENT_HEADER,
        f"A0,E000,exam,{exam},91,true,Pearson VUE,{when},https://evidence.example.com/a0,",
        f"A1,E001,exam,{exam},55,false,Pearson VUE,{when},,",
        f"A2,E002,exam,{exam},80,yes,Pearson VUE,{when},,{'ab' * 32}",
    ]
    result = cli("import", "assessments", str(write_csv("assessments.csv", assessments)))
    assert result.exit_code == 0, result.output
    assert count(db, Assessment) == 3

    awards = [
        "external_id,person_external_id,certification_code,override_reason",
        f"W0,E000,{code},",
        f"W1,E001,{code},",
        f"W3,E003,{code},",
    ]
    refused = cli("awards", "bulk", str(write_csv("awards.csv", awards)))
    assert refused.exit_code == 1
    assert f"line 3: criteria version 1 of {code} not met: exam {exam}: " in (refused.stderr)
    assert f"line 4: criteria version 1 of {code} not met: exam {exam} not taken" in (
        refused.stderr
    )
    assert count(db, Award) == 0

    awards[2] = f"W1,E001,{code},Passed the beta exam under NDA"
    awards[3] = f"W2,E002,{code},"
    path = write_csv("awards-fixed.csv", awards)
    issued = cli("awards", "bulk", str(path))
    assert issued.exit_code == 0, issued.output
    assert "3 awards created" in issued.stdout
    overridden = db.scalar(select(Award).where(Award.external_id == "W1"))
    assert overridden.override_reason == "Passed the beta exam under NDA"
    assert overridden.status == "active"
    db.rollback()
    assert events_of(db, "award.issued") == 3

    again = cli("awards", "bulk", str(path))
    assert "0 awards created, 3 skipped" in again.stdout
    duplicate = cli(
        "awards",
        "bulk",
        str(write_csv("dup.csv", [awards[0], f"W9,E000,{code},"])),
    )
    assert duplicate.exit_code == 1
    assert f"line 2: E000 already holds an active award of {code}" in duplicate.stderr


def test_bad_assessment_rows_name_their_fields(cli, write_csv):
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    assert cli("import", "people", str(write_csv("people.csv", people_lines(2)))).exit_code == 0
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    lines = [
        ASSESSMENT_HEADER,
        "A0,E000,exam,EX-1,,true,Pearson VUE,2026-01-05T10:00:00Z,,",
        f"A1,E001,lab,LAB-1,,true,Lab bot,{future},,",
        "A2,E404,quiz,EX-1,50,maybe,Pearson VUE,yesterday,,",
    ]
    result = cli("import", "assessments", str(write_csv("assessments.csv", lines)))
    assert result.exit_code == 1
    assert "line 2: score: an exam result needs a score" in result.stderr
    assert "line 3: occurred_at: must not be in the future" in result.stderr
    assert "line 4: kind:" in result.stderr
    assert "line 4: person_external_id: no person 'E404'" in result.stderr


def _issuable(cli, write_csv, db, system, people: int) -> str:
    """``people`` people of imported firms, each with a passing exam; the certification code."""
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    lines = people_lines(people)
    assert cli("import", "people", str(write_csv("people.csv", lines))).exit_code == 0
    certification = programs_factories.certification(
        db, system, effective_from=datetime.now(UTC) - timedelta(days=30)
    )
    db.commit()
    exam = programs_factories.exam_code(certification)
    when = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    assessments = [ASSESSMENT_HEADER] + [
        f"A{n},E{n:03d},exam,{exam},91,true,Pearson VUE,{when},," for n in range(people)
    ]
    result = cli("import", "assessments", str(write_csv("assessments.csv", assessments)))
    assert result.exit_code == 0, result.output
    return certification.code


def test_bulk_issuance_writes_each_credential_and_its_public_url(
    cli, write_csv, db, system, tmp_path
):
    code = _issuable(cli, write_csv, db, system, people=3)
    awards = [
        "external_id,person_external_id,certification_code",
        f"W0,E000,{code}",
        f"W1,E002,{code}",
    ]
    output = tmp_path / "out" / "credentials.csv"
    output.parent.mkdir()
    result = cli(
        "awards", "bulk", str(write_csv("awards.csv", awards)), "--credentials-csv", str(output)
    )
    assert result.exit_code == 0, result.output
    assert "2 credentials written" in result.stdout
    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["external_id"], row["person_external_id"]) for row in rows] == [
        ("W0", "E000"),
        ("W1", "E002"),
    ]
    base = get_settings().public_url.rstrip("/")
    for row in rows:
        award = db.get(Award, row["award_id"])
        assert (award.external_id, award.person_id) == (row["external_id"], row["person_id"])
        person = db.get(Person, row["person_id"])
        assert person.external_id == row["person_external_id"]
        credential = issuance.current_credential_for_award(db, award.id)
        assert credential is not None
        assert credential.award_id == award.id
        assert row["credential_id"] == credential.id
        assert row["credential_url"] == f"{base}/credentials/{credential.id}"
        # The URL is the credential's own id, as signed.
        assert json.loads(credential.document_text)["id"] == row["credential_url"]
    db.rollback()
    assert [path.name for path in output.parent.iterdir()] == ["credentials.csv"]

    # A re-run issues nothing, and the file says so.
    again = cli(
        "awards", "bulk", str(write_csv("awards.csv", awards)), "--credentials-csv", str(output)
    )
    assert again.exit_code == 0, again.output
    assert output.read_text(encoding="utf-8").splitlines() == [
        "award_id,external_id,person_id,person_external_id,credential_id,credential_url"
    ]


def test_a_refused_bulk_issuance_leaves_the_credentials_file_as_it_was(
    cli, write_csv, db, system, tmp_path
):
    code = _issuable(cli, write_csv, db, system, people=1)
    output = tmp_path / "credentials.csv"
    output.write_text("kept\n", encoding="utf-8")
    refused = cli(
        "awards",
        "bulk",
        str(
            write_csv(
                "awards.csv",
                [
                    "external_id,person_external_id,certification_code",
                    f"W0,E000,{code}",
                    f"W1,E404,{code}",
                ],
            )
        ),
        "--credentials-csv",
        str(output),
    )
    assert refused.exit_code == 1
    assert output.read_text(encoding="utf-8") == "kept\n"
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []
    assert count(db, Award) == 0

    nowhere = cli(
        "awards",
        "bulk",
        str(
            write_csv(
                "awards.csv",
                ["external_id,person_external_id,certification_code", f"W0,E000,{code}"],
            )
        ),
        "--credentials-csv",
        str(tmp_path / "missing" / "credentials.csv"),
    )
    assert nowhere.exit_code == 2
    assert "--credentials-csv" in nowhere.output
    assert count(db, Award) == 0
