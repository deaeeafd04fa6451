"""Bitstring Status List encoding, decoding and documents."""

from __future__ import annotations

import base64
import gzip
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from charter.credentials import statuslist

VECTORS = Path(__file__).resolve().parent / "vectors" / "statuslist"


def _cases() -> list[dict[str, object]]:
    data = json.loads((VECTORS / "encodedList-cases.json").read_text(encoding="utf-8"))
    cases: list[dict[str, object]] = data["cases"]
    return cases


def test_spec_example_decodes_to_131072_zero_bits() -> None:
    doc = json.loads(
        (VECTORS / "spec-example-BitstringStatusListCredential.json").read_text(encoding="utf-8")
    )
    raw = statuslist.decode(doc["credentialSubject"]["encodedList"])
    bits = statuslist.StatusBits.from_bytes(raw)
    assert len(bits) == 131_072
    assert bits.set_indexes() == set()


@pytest.mark.parametrize("case", _cases(), ids=lambda c: str(c["decodedBits"]))
def test_fixture_lists_decode_to_the_expected_bits(case: dict[str, object]) -> None:
    raw = statuslist.decode(str(case["encodedList"]))
    bits = statuslist.StatusBits.from_bytes(raw, allow_short=True)
    assert len(bits) == case["decodedBits"]
    assert bits.set_indexes() == set(case["setIndexes"])  # type: ignore[arg-type]


def test_short_lists_are_refused_by_default() -> None:
    raw = statuslist.decode(str(_cases()[1]["encodedList"]))
    with pytest.raises(statuslist.StatusListError, match="minimum"):
        statuslist.StatusBits.from_bytes(raw)


def test_bit_order_is_msb_first() -> None:
    bits = statuslist.StatusBits()
    bits.set(0)
    bits.set(9)
    data = bits.to_bytes()
    assert data[0] == 0x80
    assert data[1] == 0x40


def test_round_trip_keeps_exactly_the_set_bits() -> None:
    bits = statuslist.StatusBits(262_144)
    chosen = {0, 7, 8, 94_567, 262_143}
    for index in chosen:
        bits.set(index)
    bits.set(8, False)
    encoded = statuslist.encode(bits)
    assert encoded.startswith("u")
    assert "=" not in encoded
    decoded = statuslist.StatusBits.from_bytes(statuslist.decode(encoded))
    assert decoded.set_indexes() == chosen - {8}
    assert decoded.get(94_567)
    assert not decoded.get(94_566)


def test_encoding_is_deterministic() -> None:
    bits = statuslist.StatusBits()
    bits.set(5)
    assert statuslist.encode(bits) == statuslist.encode(bits)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "H4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",  # no 'u' prefix
        "u",
        "uH4sI+AAA/",  # standard base64 alphabet, not base64url
        "u" + base64.urlsafe_b64encode(b"not gzip at all").rstrip(b"=").decode(),
        "u"
        + base64.urlsafe_b64encode(gzip.compress(b"\0" * 64, mtime=0)[:-6]).rstrip(b"=").decode(),
        "uA",  # impossible base64 length
    ],
)
def test_malformed_lists_are_refused(encoded: str) -> None:
    with pytest.raises(statuslist.StatusListError):
        statuslist.decode(encoded)


def test_out_of_range_index_is_refused() -> None:
    bits = statuslist.StatusBits()
    with pytest.raises(statuslist.StatusListError, match="outside"):
        bits.get(131_072)
    with pytest.raises(statuslist.StatusListError):
        statuslist.StatusBits(1000)


def test_random_free_index_avoids_used_and_fills_a_list() -> None:
    rng = random.Random(1)
    used: set[int] = set()
    for _ in range(16):
        index = statuslist.random_free_index(used, 16, rng)
        assert 0 <= index < 16
        assert index not in used
        used.add(index)
    with pytest.raises(statuslist.StatusListError, match="full"):
        statuslist.random_free_index(used, 16, rng)


def test_random_indexes_are_spread_out() -> None:
    rng = random.Random(2)
    picks = [statuslist.random_free_index(set(), statuslist.MIN_ENTRIES, rng) for _ in range(50)]
    assert len(set(picks)) == 50
    assert max(picks) > statuslist.MIN_ENTRIES // 2


def test_status_list_credential_shape() -> None:
    bits = statuslist.StatusBits()
    doc = statuslist.status_list_credential(
        list_url="https://p.example/status/suspension/3",
        issuer_id="did:key:z6Mkabc",
        purpose="suspension",
        encoded_list=statuslist.encode(bits),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert doc["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert doc["credentialSubject"]["id"] == "https://p.example/status/suspension/3#list"
    assert doc["credentialSubject"]["statusPurpose"] == "suspension"
    assert "validUntil" not in doc


def test_status_list_credential_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="purpose"):
        statuslist.status_list_credential(
            list_url="https://p.example/s",
            issuer_id="did:key:z6Mkabc",
            purpose="refresh",  # type: ignore[arg-type]
            encoded_list=statuslist.encode(statuslist.StatusBits()),
            valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        )
    with pytest.raises(statuslist.StatusListError):
        statuslist.status_list_credential(
            list_url="https://p.example/s",
            issuer_id="did:key:z6Mkabc",
            purpose="revocation",
            encoded_list="not-a-list",
            valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        )


def test_status_entry_shape() -> None:
    entry = statuslist.status_entry("https://p.example/status/revocation/1", 94_567, "revocation")
    assert entry == {
        "id": "https://p.example/status/revocation/1#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://p.example/status/revocation/1",
    }
    assert entry["id"] != entry["statusListCredential"]
