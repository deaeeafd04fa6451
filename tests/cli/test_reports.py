"""``charter report program`` and ``charter report summary`` print the reports' own figures."""

from __future__ import annotations

import json

from charter.reports import service
from charter.reports.csvfile import table_csv
from tests.reports.world import build


def test_program_reports_and_summary_from_the_command_line(cli, sessions, system, frozen_clock):
    with sessions() as db:
        build(db, system, frozen_clock)
        expected = service.run_report(db, system, name="renewals")

    as_csv = cli("report", "program", "renewals", "--csv", "certifications")
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.output.replace("\r\n", "\n") == table_csv(expected.tables[0]).replace(
        "\r\n", "\n"
    )
    as_json = cli("report", "program", "certified-headcount", "--months", "5", "--json")
    assert [row["people"] for row in json.loads(as_json.output)["tables"][0]["rows"]] == [
        4,
        3,
        3,
        3,
        4,
    ]
    shown = cli("report", "program", "expiry-timeline")
    assert shown.exit_code == 0
    assert "Awards expiring each week" in shown.output
    summary = cli("report", "summary", "--from", "2026-06-01", "--to", "2026-07-20", "--json")
    figures = {f["key"]: f["current"] for f in json.loads(summary.output)["figures"]}
    assert figures["certified_people"] == 4

    unknown = cli("report", "program", "nothing")
    assert unknown.exit_code != 0
    assert "no report is named 'nothing'" in unknown.output
    bad = cli("report", "program", "tier-movements", "--months", "99")
    assert bad.exit_code != 0
    assert "months" in bad.output
