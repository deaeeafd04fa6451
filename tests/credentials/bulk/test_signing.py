"""What a signing worker sends back: credential rows of every column, at a tuple's cost."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from charter.credentials.bulk.signing import CREDENTIAL_ROWS, BulkItem, CredentialRow
from charter.credentials.models import IssuedCredential


def test_bulk_inserts_write_every_credential_column():
    # Bulk issuance writes credential rows through the driver with a fixed column list.
    assert set(CREDENTIAL_ROWS.columns) == set(IssuedCredential.__table__.columns.keys())
    assert CREDENTIAL_ROWS.columns == CredentialRow._fields


def test_messages_to_and_from_workers_pickle_as_their_fields():
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    item = BulkItem(
        "awd_1",
        "crt_1 crv_1",
        "a@example.com",
        None,
        at,
        None,
        "stl_1",
        7,
        "stl_2",
        9,
        "per_1",
        None,
    )
    copied = pickle.loads(pickle.dumps(item))
    assert copied == item
    assert copied.revocation_index == 7
    assert copied.suspension_list_id == "stl_2"
