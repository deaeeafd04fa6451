"""The fast canonicalization path must match pyld byte for byte, and proofs must cross over."""

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.credentials import fastcanon, jsonld, ob3, proofs, statuslist
from charter.crypto import dids, keys

VECTORS = Path(__file__).parent / "vectors"
INTEROP = Path(__file__).resolve().parents[2] / "interop"
OB_CONTEXT = [ob3.VC_V2_CONTEXT, ob3.OB_CONTEXT]
KEY = keys.generate_private_key()
DID = dids.did_key_from_public(KEY.public_key())
METHOD = dids.did_key_verification_method(DID)

# Strings that have tripped canonicalizers: escapes, control characters (RDFC-1.0 writes \b, \f
# and \uXXXX for them), strings that look like IRIs, N-Quads syntax, blank-node labels, the
# template's own sentinel, unicode beyond the BMP.
ADVERSARIAL = [
    "",
    " ",
    '"',
    '\\"',
    "\\",
    "a\nb\r\nc\td",
    "\x00\x01\x08\x0b\x0c\x1f\x7f",
    "\u0085\u2028\u2029\ufeff",
    "https://example.org/looks-like-an-iri",
    "<https://example.org/x>",
    '" .\n_:b0 <https://schema.org/name> "injected',
    "_:b0",
    "_:c14n0",
    "urn:x-charter-slot:0:z",
    "{0}{1}{}",
    "{{",
    "\x00{0}\x00",
    "Ünïcødé \u2013 证书 \u2013 🏅",
    "mailto:someone@example.org",
]
text = st.one_of(
    st.sampled_from(ADVERSARIAL),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
)
iri = st.one_of(
    st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9/#]{0,12}", fullmatch=True),
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    st.from_regex(r"did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{10,44}", fullmatch=True),
    # Not plain IRIs: relative references, compact IRIs, blank nodes, vocabulary terms.
    st.sampled_from(["relative/path", "badge.png", "_:b1", "xsd:string", "Badge", "", "a b"]),
)
stamp = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@st.composite
def raw_credentials(draw):
    """Loosely OB-shaped documents: odd IRIs, optional parts, undefined terms."""
    achievement = {
        "id": draw(iri),
        "type": ["Achievement"],
        "criteria": {"narrative": draw(text)},
        "description": draw(text),
        "name": draw(text),
    }
    if draw(st.booleans()):
        achievement["achievementType"] = draw(st.sampled_from(["Certification", "Badge", "ext:X"]))
    if draw(st.booleans()):
        achievement["image"] = {"id": draw(iri), "type": "Image", "caption": draw(text)}
    if draw(st.booleans()):
        achievement["tag"] = draw(st.lists(text, max_size=3))
    subject = {"type": ["AchievementSubject"], "achievement": achievement}
    if draw(st.booleans()):
        subject["id"] = draw(iri)
    else:
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "hashed": draw(st.booleans()),
                "identityHash": draw(text),
                "identityType": "emailAddress",
                "salt": draw(text),
            }
        ]
    document = {
        "@context": OB_CONTEXT,
        "id": draw(iri),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": draw(iri), "type": ["Profile"], "name": draw(text)},
        "validFrom": draw(stamp).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "name": draw(text),
        "credentialSubject": subject,
    }
    if draw(st.booleans()):
        document["validUntil"] = draw(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")
    if draw(st.booleans()):
        document["partnerTier"] = draw(text)
    if draw(st.booleans()):
        document["issuer"]["image"] = draw(st.sampled_from([achievement.get("image", {}), {}]))
    return document


@st.composite
def issued_credentials(draw):
    """What Charter issues: ob3.build_credential with generated names, emails, dates, options."""
    https = st.from_regex(r"https://[a-z]{1,8}\.example/[a-z0-9/]{0,10}", fullmatch=True)
    optional = st.one_of(st.none(), https)
    issuer = ob3.IssuerProfile(
        id=DID,
        name=draw(text),
        url=draw(https),
        email=draw(st.one_of(st.none(), st.emails(), text)),
        image_url=draw(optional),
    )
    achievement = ob3.AchievementInfo(
        id=draw(https),
        name=draw(text),
        description=draw(text),
        criteria_narrative=draw(text),
        criteria_url=draw(optional),
        image_url=draw(optional),
        version=draw(st.one_of(st.none(), text)),
    )
    subject = ob3.SubjectInfo(
        email=draw(st.one_of(st.emails(), text.filter(bool))),
        salt=draw(st.text(min_size=1, max_size=16)),
        holder_did=draw(st.one_of(st.none(), st.just(DID))),
    )
    valid_from = draw(stamp)
    valid_until = draw(st.one_of(st.none(), st.just(valid_from + timedelta(days=365))))
    entries = []
    if draw(st.booleans()):
        index = draw(st.integers(0, 131_071))
        entries = [statuslist.status_entry(draw(https), index, "revocation")]
    return ob3.build_credential(
        credential_id=draw(st.uuids().map(lambda u: f"urn:uuid:{u}")),
        issuer=issuer,
        achievement=achievement,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        status_entries=entries,
    )


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(raw_credentials())
def test_fast_path_matches_pyld_for_generated_documents(document):
    assert fastcanon.canonicalize(document) == jsonld.canonicalize(document)
    assert fastcanon.dropped_terms(document) == jsonld.dropped_terms(document)


@SETTINGS
@given(issued_credentials())
def test_fast_path_matches_pyld_for_issued_credentials(document):
    analysis = fastcanon.analyse(document)
    assert analysis.fast, "a credential Charter builds should take the fast path"
    assert analysis.canonicalize() == jsonld.canonicalize(document)
    assert analysis.dropped_terms() == jsonld.dropped_terms(document) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(issued_credentials(), stamp)
def test_fast_and_general_proofs_verify_on_each_other(document, created):
    fast = proofs.create_proof(document, KEY, METHOD, created)
    with proofs.general_path():
        general = proofs.create_proof(document, KEY, METHOD, created)
        assert proofs.verify_proof(fast, KEY.public_key())
    assert fast == general
    assert proofs.verify_proof(general, KEY.public_key())
    tampered = {**fast, "name": fast["name"] + "."}
    assert not proofs.verify_proof(tampered, KEY.public_key())


# A template's open fields, as bulk issuance opens them: which hold IRIs, and the stand-in
# each has in the sample document.
OPEN_FIELDS = {
    "urn:uuid:00000000-0000-4000-8000-00000000c0de": True,  # credential id
    "1901-01-01T00:00:01Z": False,  # validFrom
    "stand-in identity hash": False,
    "stand-in salt": False,
    "urn:uuid:00000000-0000-4000-8000-00000000e7e7": True,  # status entry id
    "stand-in index": False,
    "https://status.example/stand-in": True,  # statusListCredential
}


def _fill(node, values):
    if isinstance(node, str):
        return values.get(node, node)
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    return node


@st.composite
def templated_credentials(draw):
    """A credential with stand-ins in its open fields, and values for them: adversarial text,
    odd IRIs, and the document's own IRIs (equal IRIs merge nodes, equal quads merge)."""
    document = draw(issued_credentials())
    stand_ins = list(OPEN_FIELDS)
    document["id"] = stand_ins[0]
    document["validFrom"] = stand_ins[1]
    identity = document["credentialSubject"].get("identifier", [{}])[0]
    fields = stand_ins[:2]
    if identity:
        identity["identityHash"], identity["salt"] = stand_ins[2], stand_ins[3]
        fields += stand_ins[2:4]
    if "credentialStatus" in document:
        entry = document["credentialStatus"]
        entry["id"], entry["statusListIndex"], entry["statusListCredential"] = stand_ins[4:]
        fields += stand_ins[4:]
    own_iris = st.sampled_from(
        [document["issuer"]["id"], document["credentialSubject"]["achievement"]["id"]]
    )
    values = [draw(st.one_of(iri, own_iris) if OPEN_FIELDS[field] else text) for field in fields]
    return document, fields, values


@SETTINGS
@given(templated_credentials())
def test_templates_match_pyld_for_any_values_in_their_open_fields(case):
    sample, fields, values = case
    filled = fastcanon.template(sample, fields)
    assert filled is not None, "a credential Charter builds should make a template"
    canonical = fastcanon.canonicalize_template(filled, values)
    document = _fill(sample, dict(zip(fields, values, strict=True)))
    if canonical is None:
        # Declined only for a value JSON-LD would not keep as it is in an IRI position.
        assert not fastcanon.analyse(document).fast or any(
            OPEN_FIELDS[field] and not fastcanon._PLAIN_IRI.fullmatch(value)
            for field, value in zip(fields, values, strict=True)
        )
        return
    assert canonical == jsonld.canonicalize(document)


def test_equal_iris_merge_nodes_as_in_pyld():
    # The issuer and the achievement share an image: one node in RDF, not two.
    document = ob3.build_credential(
        credential_id="urn:uuid:7f0c1b9e-2f45-4c53-9a53-9d3c1d7f3e10",
        issuer=ob3.IssuerProfile(DID, "Acme", "https://acme.example", None, "https://i.example/x"),
        achievement=ob3.AchievementInfo(
            "https://acme.example/a", "A", "D", "N", None, "https://i.example/x"
        ),
        subject=ob3.SubjectInfo("a@b.example", "salt"),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        valid_until=None,
    )
    assert fastcanon.canonicalize(document) == jsonld.canonicalize(document)


def test_identical_sibling_nodes_take_the_n_degree_path():
    # Two identifier objects with the same content: equal first-degree hashes.
    identity = {"type": "IdentityObject", "identityType": "emailAddress", "hashed": False}
    document = {
        "@context": OB_CONTEXT,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": DID,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{**identity, "identityHash": "x"}, {**identity, "identityHash": "x"}],
            "achievement": {"id": "https://a.example", "type": ["Achievement"], "name": "n"},
        },
    }
    assert fastcanon.canonicalize(document) == jsonld.canonicalize(document)


def test_fast_path_matches_the_vectors():
    ob = json.loads((VECTORS / "ob3-example" / "signed-credential.json").read_text())
    ob.pop("proof")
    assert (
        fastcanon.canonicalize(ob) == (VECTORS / "ob3-example" / "document-canon.txt").read_text()
    )
    unsigned = json.loads((VECTORS / "vc-di-eddsa" / "unsigned.json").read_text())
    expected = (VECTORS / "vc-di-eddsa" / "canonDocDataInt.txt").read_text()
    assert fastcanon.canonicalize(unsigned) == expected


def test_unsupported_shapes_take_the_general_path():
    document = {"@context": OB_CONTEXT, "id": "relative/id", "type": ["VerifiableCredential"]}
    assert not fastcanon.analyse(document).fast
    assert fastcanon.canonicalize(document) == jsonld.canonicalize(document)


def test_large_shapes_take_the_general_path_and_are_not_kept():
    # Anyone may post a credential to verify: a shape too large to keep must not be kept.
    ob = json.loads((VECTORS / "ob3-example" / "signed-credential.json").read_text())
    ob.pop("proof")
    ob["credentialSubject"]["achievement"]["alignment"] = [
        {"type": ["Alignment"], "targetName": f"skill {i}", "targetUrl": f"https://a.example/{i}"}
        for i in range(100)
    ]
    fastcanon.clear_cache()
    analysis = fastcanon.analyse(ob)
    assert not analysis.fast
    assert analysis.canonicalize() == jsonld.canonicalize(ob)
    assert analysis.dropped_terms() == []
    assert not fastcanon._templates
    del ob["credentialSubject"]["achievement"]["alignment"][10:]
    assert fastcanon.analyse(ob).fast


def test_control_characters_are_escaped_as_rdf_canonize_does():
    # pyld 3.3 wrote U+0000-U+001F and U+007F raw; RDFC-1.0 and Digital Bazaar's rdf-canonize
    # write \b, \f and \uXXXX, and the blank-node hashes depend on it.
    assert jsonld.escape_literal('\x00\x08\x0c\x1f\x7f\t\n\r"\\é') == (
        '\\u0000\\b\\f\\u001F\\u007F\\t\\n\\r\\"\\\\é'
    )


def test_canonical_forms_match_digital_bazaar_rdf_canonize():
    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules").is_dir():
        pytest.skip("needs node and interop/node_modules")
    documents = []
    for index, value in enumerate(ADVERSARIAL):
        documents.append(
            ob3.build_credential(
                credential_id=f"urn:uuid:7f0c1b9e-2f45-4c53-9a53-{index:012d}",
                issuer=ob3.IssuerProfile(DID, value, "https://acme.example", value or None),
                achievement=ob3.AchievementInfo("https://acme.example/a", value, value, value),
                subject=ob3.SubjectInfo("a@b.example", value or "s"),
                valid_from=datetime(2025, 1, 1, tzinfo=UTC),
                valid_until=None,
            )
        )
    done = subprocess.run(
        [node, "bench.mjs"],
        cwd=INTEROP,
        input=json.dumps({"mode": "canonize", "documents": documents}).encode(),
        capture_output=True,
        timeout=120,
        check=True,
    )
    expected = json.loads(done.stdout)["canonical"]
    for document, canonical in zip(documents, expected, strict=True):
        assert fastcanon.canonicalize(document) == canonical
        assert jsonld.canonicalize(document) == canonical


def test_iris_pyoxigraph_refuses_take_the_general_path():
    # Two identical identifiers send the fast path to pyoxigraph, which refuses a second '#'.
    ident = {"type": "IdentityObject", "hashed": True, "identityHash": "x"}
    ident["identityType"] = "emailAddress"
    doc = {
        "@context": [ob3.VC_V2_CONTEXT, ob3.OB_CONTEXT],
        "id": "https://a.example/#a#b",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "https://i.example/", "type": ["Profile"], "name": "I"},
        "validFrom": "2000-01-01T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [dict(ident), dict(ident)],
            "achievement": {
                "id": "https://a.example/#c#d",
                "type": ["Achievement"],
                "name": "n",
                "description": "d",
                "criteria": {"narrative": "n"},
            },
        },
    }
    assert fastcanon.canonicalize(doc) == jsonld.canonicalize(doc)
