"""What a signing worker sends back: credential rows of every column, at a tuple's cost."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from charter.core.eventstore import Rendered
from charter.credentials.bulk.signing import (
    CREDENTIAL_ROWS,
    ROW_ID,
    BulkItem,
    Chunk,
    CredentialRow,
    Signed,
)
from charter.credentials.models import IssuedCredential


def test_bulk_inserts_write_every_credential_column():
    # Bulk issuance writes credential rows through the driver with a fixed column list.
    assert set(CREDENTIAL_ROWS.columns) == set(IssuedCredential.__table__.columns.keys())
    assert CREDENTIAL_ROWS.columns == CredentialRow._fields


def test_messages_to_and_from_workers_arrive_field_for_field():
    # They cross the process boundary as plain tuples (cheaper to pickle). Awards arrive at the
    # signer as the NamedTuples they left as; signed rows and events arrive as their values in
    # field order, which the storing process binds and chains by position.
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
    chunk = pickle.loads(pickle.dumps(Chunk([item, item._replace(award_id="awd_2")])))
    assert type(chunk) is Chunk
    assert [type(each) for each in chunk.items] == [BulkItem, BulkItem]
    assert chunk.items[0] == item
    assert chunk.items[1].award_id == "awd_2"
    assert chunk.items[1].suspension_index == 9
    row = CredentialRow(*(f"value {n}" for n in range(len(CredentialRow._fields))))
    event = Rendered("evt_1", "credential.issued", "credential", "bdg_1", None, {}, "{}", b"", b"")
    signed = pickle.loads(pickle.dumps(Signed([row], [event])))
    assert type(signed) is Signed
    assert signed.rows == [tuple(row)]
    assert signed.events == [tuple(event)]
    assert signed.rows[0][ROW_ID] == row.id
