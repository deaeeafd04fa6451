"""Multikey encodings and sealing private keys at rest."""

import json
import os
from pathlib import Path

import pytest

from charter.core.errors import Invalid
from charter.crypto import keys, multibase
from charter.crypto.keys import KeyringError

VECTORS = Path(__file__).parents[1] / "credentials" / "vectors"


def test_w3c_secret_key_seed_form_gives_the_vector_public_key():
    pair = json.loads((VECTORS / "vc-di-eddsa" / "keyPair.json").read_text())
    private_key = keys.private_key_from_multibase(pair["privateKeyMultibase"])
    assert keys.public_key_multibase(private_key.public_key()) == pair["publicKeyMultibase"]
    assert keys.secret_key_multibase(private_key) == pair["privateKeyMultibase"]


def test_1edtech_secret_key_seed_and_public_form_is_accepted():
    vector = json.loads((VECTORS / "ob3-example" / "key-and-hashes.json").read_text())
    private_key = keys.private_key_from_multibase(vector["secretKeyMultibase"])
    public = private_key.public_key()
    assert keys.raw_public_key(public).hex() == vector["publicKeyHex"]
    assert keys.public_key_multibase(public) == vector["publicKeyMultibase"]


def test_secret_key_whose_public_half_does_not_match_is_refused():
    one, other = keys.generate_private_key(), keys.generate_private_key()
    forged = multibase.encode_base58btc(
        multibase.ED25519_PRIV_PREFIX + keys.raw_seed(one) + keys.raw_public_key(other.public_key())
    )
    with pytest.raises(Invalid, match="does not match"):
        keys.private_key_from_multibase(forged)


def test_public_multikey_round_trips_and_starts_with_z6mk():
    public = keys.generate_private_key().public_key()
    encoded = keys.public_key_multibase(public)
    assert encoded.startswith("z6Mk")
    assert keys.raw_public_key(keys.public_key_from_multibase(encoded)) == keys.raw_public_key(
        public
    )


@pytest.mark.parametrize(
    "prefix",
    [b"\xe7\x01", b"\x12\x00", b"\xec\x01", b"\x80\x26"],
    ids=["secp256k1-pub", "bogus", "x25519-pub", "ed25519-priv"],
)
def test_public_multikey_with_another_prefix_is_refused(prefix):
    encoded = multibase.encode_base58btc(prefix + bytes(32))
    with pytest.raises(Invalid, match="publicKeyMultibase"):
        keys.public_key_from_multibase(encoded)


@pytest.mark.parametrize(
    "value", ["", "6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", "z0OIl", "uAAAA"]
)
def test_public_multikey_that_is_not_base58btc_is_refused(value):
    with pytest.raises(Invalid):
        keys.public_key_from_multibase(value)


def test_public_multikey_of_wrong_length_is_refused():
    encoded = multibase.encode_base58btc(multibase.ED25519_PUB_PREFIX + bytes(31))
    with pytest.raises(Invalid, match="32 bytes"):
        keys.public_key_from_multibase(encoded)


def test_sealed_key_opens_with_the_same_secret_and_key_id():
    private_key = keys.generate_private_key()
    kek = keys.derive_kek("a deployment secret")
    blob = keys.seal_private_key(private_key, kek, "key_1")
    opened = keys.open_private_key(blob, kek, "key_1")
    assert keys.raw_seed(opened) == keys.raw_seed(private_key)
    assert keys.raw_seed(private_key) not in blob


def test_sealing_twice_uses_fresh_nonces():
    private_key = keys.generate_private_key()
    kek = keys.derive_kek("s")
    assert keys.seal_private_key(private_key, kek, "k") != keys.seal_private_key(
        private_key, kek, "k"
    )


def test_sealed_key_does_not_open_with_another_secret():
    blob = keys.seal_private_key(keys.generate_private_key(), keys.derive_kek("one"), "key_1")
    with pytest.raises(KeyringError, match="cannot be opened"):
        keys.open_private_key(blob, keys.derive_kek("two"), "key_1")


def test_sealed_key_does_not_open_under_another_key_id():
    kek = keys.derive_kek("one")
    blob = keys.seal_private_key(keys.generate_private_key(), kek, "key_1")
    with pytest.raises(KeyringError):
        keys.open_private_key(blob, kek, "key_2")


def test_damaged_sealed_key_does_not_open():
    kek = keys.derive_kek("one")
    blob = bytearray(keys.seal_private_key(keys.generate_private_key(), kek, "key_1"))
    blob[-1] ^= 1
    with pytest.raises(KeyringError):
        keys.open_private_key(bytes(blob), kek, "key_1")
    with pytest.raises(KeyringError, match="format"):
        keys.open_private_key(b"\x02" + bytes(blob[1:]), kek, "key_1")


def test_kek_derivation_is_stable_and_secret_dependent():
    assert keys.derive_kek("x") == keys.derive_kek("x")
    assert keys.derive_kek("x") != keys.derive_kek("y")
    assert len(keys.derive_kek("x")) == 32


@pytest.mark.parametrize("length", [0, 1, 2, 10, 31, 32, 34, 64, 65, 100])
def test_base58btc_encoding_matches_the_reference_library(length):
    import base58

    samples = [bytes(length), b"\xff" * length, bytes(range(length % 256)) * (length // 256 + 1)]
    samples += [bytes(zeros) + os.urandom(length) for zeros in range(4)]
    for data in samples:
        encoded = multibase.encode_base58btc(data)
        assert encoded == "z" + base58.b58encode(data).decode("ascii")
        if data:
            assert multibase.decode_base58btc(encoded) == data
