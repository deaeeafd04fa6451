"""Pure parts of the CSV imports: file parsing and the fast email check."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from charter.cli.main import app
from charter.config import get_settings
from charter.core.csvimport import Columns, read_csv
from charter.core.errors import Invalid
from charter.partners.imports import _SIMPLE_EMAIL, import_email
from charter.partners.schemas import email_address

COLUMNS = Columns(required=("external_id", "name"), optional=("website",))


def _outcome(check, value: str) -> str:
    try:
        return check(value)
    except ValueError:
        return "refused"


@settings(max_examples=500, deadline=None)
@given(st.from_regex(_SIMPLE_EMAIL, fullmatch=True))
def test_the_fast_email_check_agrees_with_the_full_validator(address):
    assert _outcome(import_email, address) == _outcome(email_address, address)


@pytest.mark.parametrize(
    "address",
    ["Ada@Example.COM", "a@b.test", "x@localhost.local", "ü@exämple.de", "a..b@x.de", "a@xn--a.de"],
)
def test_unusual_addresses_get_the_full_validators_answer(address):
    assert _outcome(import_email, address) == _outcome(email_address, address)


def test_rows_keep_their_line_numbers_across_quoted_newlines():
    data = b'external_id,name\nA,"two\nlines"\nB,plain\n\nC,too,many\n'
    file = read_csv(data, COLUMNS)
    assert [(row.line, row.values["external_id"]) for row in file.rows] == [(2, "A"), (4, "B")]
    with pytest.raises(Invalid) as raised:
        file.errors.raise_if_any(file.total)
    assert [(e.field, e.detail) for e in raised.value.errors] == [
        ("line 6", "has 3 fields but the header has 2")
    ]


def test_text_that_is_not_utf8_is_refused_with_its_line():
    with pytest.raises(Invalid, match="line 3 is not UTF-8"):
        read_csv("external_id,name\nA,ok\nB,caf\xe9\n".encode("latin-1"), COLUMNS)


def test_an_empty_file_is_refused():
    with pytest.raises(Invalid, match="empty"):
        read_csv(b"", COLUMNS)


def test_db_upgrade_creates_the_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARTER_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.stdout
        verify = CliRunner().invoke(app, ["audit", "verify"])
        assert verify.stdout.strip() == "chain intact: 0 entries"
    finally:
        get_settings.cache_clear()


def test_a_database_without_tables_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARTER_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["api-keys", "list"])
        assert result.exit_code == 1
        assert "charter db upgrade" in result.stderr
        assert "Traceback" not in result.output
    finally:
        get_settings.cache_clear()
