"""Offline JSON-LD: vendored contexts, canonicalization, and the safe-mode check."""

import copy
import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest

from charter.core.errors import Invalid
from charter.credentials import jsonld

VECTORS = Path(__file__).parent / "vectors"
OB_303 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
SCHEMA_ID = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)


def ob_credential() -> dict:
    signed = json.loads((VECTORS / "ob3-example" / "signed-credential.json").read_text())
    signed.pop("proof")
    return signed


def test_every_indexed_context_is_shipped_and_parses():
    for url in jsonld.context_index():
        assert "@context" in jsonld.load_context(url), url


def test_ob_303_context_is_the_1edtech_file_byte_for_byte():
    name = jsonld.context_index()[OB_303]
    data = resources.files("charter.credentials.contexts").joinpath(name).read_bytes()
    assert len(data) == 14329
    assert hashlib.sha256(data).hexdigest().startswith("ef2fa9c7")


def test_unknown_context_is_refused_without_the_network():
    document = ob_credential()
    document["@context"] = [*document["@context"], "https://example.com/private-context.json"]
    with pytest.raises(Invalid, match="not available offline") as caught:
        jsonld.canonicalize(document)
    assert caught.value.errors[0].field == "@context"
    with pytest.raises(Invalid, match="not available offline"):
        jsonld.dropped_terms(document)


def test_w3c_vector_document_canonicalizes_byte_for_byte():
    unsigned = json.loads((VECTORS / "vc-di-eddsa" / "unsigned.json").read_text())
    expected = (VECTORS / "vc-di-eddsa" / "canonDocDataInt.txt").read_text()
    assert jsonld.canonicalize(unsigned) == expected


def test_ob_example_canonicalizes_byte_for_byte():
    expected = (VECTORS / "ob3-example" / "document-canon.txt").read_text()
    assert jsonld.canonicalize(ob_credential()) == expected


def test_expand_uses_the_ob_vocabulary():
    expanded = jsonld.expand(ob_credential())
    assert expanded[0]["@type"] == [
        "https://www.w3.org/2018/credentials#VerifiableCredential",
        "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential",
    ]


def test_valid_ob_credential_has_no_dropped_terms():
    assert jsonld.dropped_terms(ob_credential()) == []


def test_undefined_top_level_term_is_reported():
    document = ob_credential()
    document["partnerTier"] = "gold"
    assert jsonld.dropped_terms(document) == ["partnerTier"]
    with pytest.raises(Invalid, match="partnerTier") as caught:
        jsonld.require_safe(document)
    assert [error.field for error in caught.value.errors] == ["partnerTier"]


def test_undefined_nested_term_is_reported_with_its_path():
    document = ob_credential()
    document["credentialSubject"]["achievement"]["partnerTier"] = "gold"
    assert jsonld.dropped_terms(document) == ["credentialSubject.achievement.partnerTier"]


def test_relative_type_without_the_extensions_context_is_reported():
    document = ob_credential()
    document["credentialSchema"] = [{"id": SCHEMA_ID, "type": "1EdTechJsonSchemaValidator2019"}]
    assert jsonld.dropped_terms(document) == ["credentialSchema[0].type"]
    # pyld would otherwise sign it with a made-up base IRI; it must not appear in the RDF.
    assert "example.org/base" not in jsonld.canonicalize(document)


def test_the_same_documents_made_valid_have_no_dropped_terms():
    document = ob_credential()
    document["@context"] = [*document["@context"], OB_EXTENSIONS]
    document["credentialSchema"] = [{"id": SCHEMA_ID, "type": "1EdTechJsonSchemaValidator2019"}]
    assert jsonld.dropped_terms(document) == []
    with_term = ob_credential()
    with_term["@context"] = [*with_term["@context"], {"partnerTier": "https://example.com/ns#tier"}]
    with_term["partnerTier"] = "gold"
    with_term["credentialSubject"]["achievement"]["tag"] = ["gold"]
    assert jsonld.dropped_terms(with_term) == []


def test_relative_ids_and_unknown_types_are_reported():
    document = ob_credential()
    achievement = document["credentialSubject"]["achievement"]
    achievement["image"] = "badge.png"
    achievement["criteria"] = {"id": "criteria"}
    achievement["type"] = ["Achievement", "PartnerAchievement"]
    assert jsonld.dropped_terms(document) == [
        "credentialSubject.achievement.criteria.id",
        "credentialSubject.achievement.image",
        "credentialSubject.achievement.type",
    ]


def test_dropped_terms_does_not_change_the_document():
    document = ob_credential()
    document["partnerTier"] = "gold"
    before = copy.deepcopy(document)
    jsonld.dropped_terms(document)
    assert document == before


def test_a_document_importing_a_context_does_not_define_terms_for_later_ones():
    plain = {**ob_credential(), "partnerTier": "gold"}
    assert jsonld.dropped_terms(plain) == ["partnerTier"]
    hostile = {**ob_credential(), "partnerTier": "gold"}
    # Each nested object imports the VC context with partnerTier added, each under another
    # active context: pyld processed them all into one cached copy of the VC context.
    node = hostile["credentialSubject"]["achievement"]
    for depth in range(12):
        child = {
            "@context": {
                "@import": "https://www.w3.org/ns/credentials/v2",
                "partnerTier": "https://evil.example/tier",
                f"level{depth}": {"@id": f"https://evil.example/level{depth}"},
            }
        }
        node["alignment" if depth == 0 else f"level{depth - 1}"] = child
        node = child
    assert "partnerTier" in jsonld.dropped_terms(hostile)
    assert "https://evil.example/level10" in jsonld.canonicalize(hostile)
    assert jsonld.dropped_terms(plain) == ["partnerTier"]
    assert "evil.example" not in jsonld.canonicalize(plain)


def test_utf16_order_sorts_surrogate_pairs_before_the_top_of_the_bmp() -> None:
    from tests.credentials.test_verify import badge

    document = badge("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
    document["credentialSubject"]["achievement"]["tag"] = ["\uffe0b", "\U00010000a", "\ue000c"]
    canonical = jsonld.canonicalize(document)
    assert jsonld.orders_may_differ(canonical)
    utf16 = jsonld.canonicalize_utf16_order(document)
    lines = utf16.splitlines()
    assert lines == sorted(lines, key=lambda line: line.encode("utf-16-be"))
    assert canonical.splitlines() == sorted(lines)
    assert utf16 != canonical


@pytest.mark.parametrize(
    "tags", [["plain", "ascii"], ["\U0001f600", "\U0001f601"], ["\uff01", "é"]]
)
def test_documents_without_both_kinds_have_one_canonical_form(tags: list[str]) -> None:
    from tests.credentials.test_verify import badge

    document = badge("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
    document["credentialSubject"]["achievement"]["tag"] = tags
    canonical = jsonld.canonicalize(document)
    assert not jsonld.orders_may_differ(canonical)
    assert jsonld.canonicalize_utf16_order(document) == canonical
