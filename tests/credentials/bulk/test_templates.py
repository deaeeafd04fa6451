"""Text put together from values is the text the general path writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from charter.core.eventhash import canonical_payload_text, json_time
from charter.credentials.bulk.templates import IssuedText
from charter.credentials.issuance import issued_payload

AT = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("person_id", "list_id", "index", "until"),
    [
        ("per_01", "stl_01", 0, AT),
        ("per_01", "stl_01", 131071, None),
        ('per_"quoted"\\back', "stl_é✓", 2**31 - 1, AT),
        ("per_\x01\x7f\n", "stl_🎉", 5, None),
    ],
)
def test_issued_payload_text_is_the_canonical_text_of_the_one_definition(
    person_id, list_id, index, until
):
    # The bulk path renders the credential.issued payload's text from its values: it must be
    # what the events log would write for the payload issuance.issued_payload defines, whatever
    # the values and however often the template's caches are hit.
    text = IssuedText("did:key:z6Mk#z6Mk")
    for _ in range(2):
        payload = issued_payload(
            award_id="awd_01",
            person_id=person_id,
            verification_method="did:key:z6Mk#z6Mk",
            revocation_list_id=list_id,
            revocation_index=index,
            valid_from=json_time(AT),
            valid_until=None if until is None else json_time(until),
        )
        assert text.render(payload) == canonical_payload_text(payload)
