from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from charter.core import text
from charter.core.auth import Role
from charter.core.text import clean_text


@pytest.mark.parametrize("value", ["Ada Lovelace", "Zoë Ñandú 東京", "tab\tok", ""])
def test_ordinary_text_passes(value):
    assert clean_text(value) == value


@pytest.mark.parametrize("value", ["nul\x00", "bell\x07", "del\x7f", "line\nbreak", "\ud800"])
def test_unstorable_or_control_text_is_refused(value):
    with pytest.raises(ValueError, match=r"control|Unicode"):
        clean_text(value)


def test_paragraphs_may_break_lines():
    assert clean_text("one\r\ntwo", multiline=True) == "one\r\ntwo"


def test_nul_in_a_body_names_the_field(client, make):
    admin = make.login(Role.ADMIN)
    response = client.post("/api/v1/api-keys", json={"name": "\x00"}, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


def test_nul_in_a_query_is_a_client_error_on_every_database(client, make):
    admin = make.login(Role.ADMIN)
    response = client.get("/api/v1/events", params={"type": "\x00"}, headers=admin.headers)
    assert response.status_code in {200, 422}
    assert response.status_code < 500


ONE_LINE = [text.Line, text.Name, text.ExternalId, text.Id, text.Code]
SEVERAL_LINES = [text.Paragraphs, text.Reason, text.Note]


@pytest.mark.parametrize("kind", ONE_LINE + SEVERAL_LINES)
@pytest.mark.parametrize("value", ["A-1\x00", "\x00A-1", "A-1\x07", "\ud800", b"A-1\x00"])
def test_no_text_type_accepts_a_nul_or_a_control_character(kind: Any, value: object) -> None:
    with pytest.raises(ValidationError, match=r"control|Unicode"):
        TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize("kind", ONE_LINE)
@pytest.mark.parametrize("value", ["A\n1", "A-1\n", "\rA-1"])
def test_one_line_types_refuse_a_line_break_even_at_either_end(kind: Any, value: str) -> None:
    with pytest.raises(ValidationError, match="control"):
        TypeAdapter(kind).validate_python(value)


@pytest.mark.parametrize("kind", SEVERAL_LINES)
def test_paragraph_types_keep_line_breaks_and_strip_the_ends(kind: Any) -> None:
    assert TypeAdapter(kind).validate_python("  one\r\ntwo\n") == "one\r\ntwo"


@pytest.mark.parametrize("kind", ONE_LINE)
def test_one_line_types_are_stripped(kind: Any) -> None:
    assert TypeAdapter(kind).validate_python("  A-1\t") == "A-1"


@pytest.mark.parametrize(
    ("kind", "longest"),
    [(text.Name, 200), (text.ExternalId, 200), (text.Id, 40), (text.Code, 64), (text.Reason, 2000)],
)
def test_bounded_types_count_the_stripped_text(kind: Any, longest: int) -> None:
    adapter = TypeAdapter(kind)
    assert adapter.validate_python(f"  {'a' * longest}  ") == "a" * longest
    with pytest.raises(ValidationError, match="at most"):
        adapter.validate_python("a" * (longest + 1))


@pytest.mark.parametrize("kind", [text.Name, text.ExternalId, text.Id, text.Code, text.Reason])
def test_required_text_is_not_blank(kind: Any) -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        TypeAdapter(kind).validate_python("   ")


@pytest.mark.parametrize("kind", [text.Line, text.Paragraphs, text.Note])
def test_optional_text_may_be_blank(kind: Any) -> None:
    assert TypeAdapter(kind).validate_python("  ") == ""


@pytest.mark.parametrize("value", ["CLD 201", "-CLD", "CLD/201", "Ünï"])
def test_a_code_is_letters_digits_dots_dashes_and_underscores(value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(text.Code).validate_python(value)
    assert TypeAdapter(text.Code).validate_python("CLD-201_v2.1") == "CLD-201_v2.1"
