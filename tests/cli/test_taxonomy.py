"""``charter taxonomy``: the program's lists from the command line, and CSV imports checked
against them (row and column named)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from charter.core.models import Event
from charter.partners.models import Partner, TaxonomyEntry


def test_list_add_update_retire_and_reorder(cli, db):
    listed = cli("taxonomy", "list", "--kind", "region", "--json")
    assert listed.exit_code == 0, listed.output
    assert [entry["code"] for entry in json.loads(listed.stdout)] == ["na", "latam", "emea", "apac"]

    added = cli(
        "taxonomy", "add", "region", "polar", "--label", "Polar", "--countries", "aq", "--json"
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["countries"] == ["AQ"]

    track = cli("taxonomy", "add", "track", "pre-sales", "--label", "Pre-sales")
    assert track.exit_code == 0, track.output
    assert "track pre-sales: Pre-sales" in track.stdout

    updated = cli("taxonomy", "update", "track", "pre-sales", "--label", "Presales")
    assert updated.exit_code == 0, updated.output
    assert "Presales" in updated.stdout
    retired = cli("taxonomy", "retire", "track", "pre-sales")
    assert retired.exit_code == 0, retired.output
    assert "(retired)" in retired.stdout
    table = cli("taxonomy", "list")
    assert "pre-sales" in table.stdout
    assert "Presales" in table.stdout

    order = cli(
        "taxonomy",
        "reorder",
        "partner_type",
        "distributor",
        "integration",
        "msp",
        "implementation",
        "var",
        "reseller",
    )
    assert order.exit_code == 0, order.output
    assert "partner_type: distributor, integration" in order.stdout
    entry = db.get(TaxonomyEntry, ("track", "pre-sales"))
    assert entry is not None
    assert entry.retired
    assert entry.label == "Presales"
    db.rollback()


def test_bad_input_is_one_line_and_changes_nothing(cli, db):
    before = db.scalar(select(func.count()).select_from(Event))
    db.rollback()
    for args, message in (
        (("add", "track", "Big Deals", "--label", "x"), "error: code"),
        (("add", "track", "sales", "--label", "Sales"), "error: the track 'sales' exists already"),
        (("add", "track", "deals", "--label", "x", "--countries", "DE"), "error: countries"),
        (("add", "region", "dach", "--label", "DACH", "--countries", "DE"), "error: countries"),
        (("update", "track", "nothing", "--label", "x"), "error: no track 'nothing'"),
        (("reorder", "track", "sales"), "error: codes"),
    ):
        result = cli("taxonomy", *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(message), (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    bad_kind = cli("taxonomy", "add", "planet", "mars", "--label", "Mars")
    assert bad_kind.exit_code != 0
    assert db.scalar(select(func.count()).select_from(Event)) == before
    db.rollback()


def test_an_import_row_with_a_code_the_program_lacks_names_its_line_and_column(cli, write_csv, db):
    assert cli("taxonomy", "add", "region", "nordics", "--label", "Nordics").exit_code == 0
    lines = [
        "external_id,name,type,regions,country,website",
        "P1,Fjord Consulting,implementation,nordics,NO,",
        "P2,Mars Resellers,reseller,mars,JP,",
        "P3,Wizard Works,wizard,emea,DE,",
    ]
    result = cli("import", "partners", str(write_csv("partners.csv", lines)))
    assert result.exit_code == 1
    assert "line 3: regions: 'mars' is not a region of this program" in result.stderr
    assert "line 4: type: 'wizard' is not a partner type of this program" in result.stderr
    assert db.scalar(select(func.count()).select_from(Partner)) == 0
    db.rollback()

    ok = cli("import", "partners", str(write_csv("partners.csv", lines[:2])))
    assert ok.exit_code == 0, ok.output
    people = [
        "external_id,partner_external_id,given_name,family_name,track,emails",
        "E1,P1,Ada,Byron,juggling,ada@fjord.example",
    ]
    refused = cli("import", "people", str(write_csv("people.csv", people)))
    assert refused.exit_code == 1
    assert "line 2: track: 'juggling' is not a track of this program" in refused.stderr


def test_a_track_colour_is_set_refused_and_cleared(cli, db):
    added = cli(
        "taxonomy", "add", "track", "presales", "--label", "Pre", "--colour", "#0E7090", "--json"
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["colour"] == "#0e7090"

    bad = cli("taxonomy", "update", "track", "presales", "--colour", "teal")
    assert bad.exit_code == 1
    assert "colour: must be a colour written #rrggbb" in bad.output
    region = cli("taxonomy", "update", "region", "emea", "--colour", "#123456")
    assert region.exit_code == 1
    assert "only a track" in region.output

    changed = cli("taxonomy", "update", "track", "presales", "--colour", "#aa3300")
    assert changed.exit_code == 0, changed.output
    assert "colour: #aa3300" in changed.stdout
    assert "#aa3300" in cli("taxonomy", "list", "--kind", "track").stdout
    cleared = cli("taxonomy", "update", "track", "presales", "--clear-colour")
    assert cleared.exit_code == 0, cleared.output
    entry = db.get(TaxonomyEntry, ("track", "presales"))
    assert entry is not None
    assert entry.colour is None
    db.rollback()
