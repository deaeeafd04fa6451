"""Report CSV files cannot run formulas in a spreadsheet; numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest

from charter.core.auth import Role
from charter.reports.csvfile import neutralised
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        (-4, "-4"),
        (-2.5, "-2.5"),
        (None, ""),
    ],
)
def test_cells_that_would_be_formulas_are_made_text(value, cell):
    assert neutralised(value) == cell


def test_a_certification_named_like_a_formula_downloads_as_text(
    client, make, sessions, system, frozen_clock
):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        someone = person(db, system, partner_id=firm.id)
        cert = certification(db, system, name='=HYPERLINK("http://evil.example","x")')
        award(db, system, person_id=someone.id, certification_id=cert.id)
    login = make.login(Role.AUDITOR)
    json_rows = client.get("/api/v1/reports/renewals", headers=login.headers).json()
    assert json_rows["tables"][0]["rows"][0]["name"] == '=HYPERLINK("http://evil.example","x")'
    text = client.get("/api/v1/reports/renewals?format=csv", headers=login.headers).text
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["came_due"] == "0"
