import base64

import pytest

from charter.core.errors import Invalid
from charter.core.pagination import decode_cursor, encode_cursor


def test_cursor_round_trips_an_id():
    assert (
        decode_cursor(encode_cursor("prt_01JABCDEFGHJKMNPQRSTVWXYZ0"))
        == "prt_01JABCDEFGHJKMNPQRSTVWXYZ0"
    )


@pytest.mark.parametrize("raw", [b"prt_\x00", b"not an id", b"\xff\xfe", b"x" * 100])
def test_forged_cursors_are_refused_naming_the_field(raw):
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    with pytest.raises(Invalid) as caught:
        decode_cursor(cursor)
    assert caught.value.errors[0].field == "cursor"


def test_garbage_is_refused():
    with pytest.raises(Invalid):
        decode_cursor("%%%")
