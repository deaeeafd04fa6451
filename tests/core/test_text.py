import pytest

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
