"""The fast canonicalization prototype must match pyld byte for byte."""

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.credentials import fastcanon, jsonld

VECTORS = Path(__file__).parent / "vectors"
OB_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]

# Control characters are left out: pyld writes them raw in N-Quads while RDFC-1.0 (and
# pyoxigraph) escape them as \uXXXX, which changes blank-node hashes; see the report.
text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
iri = st.one_of(
    st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9/]{0,12}", fullmatch=True),
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    st.from_regex(r"did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{10,44}", fullmatch=True),
    st.sampled_from(["relative/path", "badge.png", "_:b1", "xsd:string"]),
)
stamp = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))


@st.composite
def credentials(draw):
    achievement = {
        "id": draw(iri),
        "type": ["Achievement"],
        "criteria": {"narrative": draw(text)},
        "description": draw(text),
        "name": draw(text),
    }
    if draw(st.booleans()):
        achievement["achievementType"] = draw(st.sampled_from(["Certification", "Badge"]))
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
        "validFrom": draw(stamp),
        "name": draw(text),
        "credentialSubject": subject,
    }
    if draw(st.booleans()):
        document["validUntil"] = draw(stamp)
    if draw(st.booleans()):
        document["partnerTier"] = draw(text)
    return document


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credentials())
def test_fast_path_matches_pyld_for_generated_credentials(document):
    assert fastcanon.canonicalize(document) == jsonld.canonicalize(document)
    assert fastcanon.dropped_terms(document) == jsonld.dropped_terms(document)


def test_fast_path_matches_the_vectors():
    ob = json.loads((VECTORS / "ob3-example" / "signed-credential.json").read_text())
    ob.pop("proof")
    assert (
        fastcanon.canonicalize(ob) == (VECTORS / "ob3-example" / "document-canon.txt").read_text()
    )
    unsigned = json.loads((VECTORS / "vc-di-eddsa" / "unsigned.json").read_text())
    expected = (VECTORS / "vc-di-eddsa" / "canonDocDataInt.txt").read_text()
    assert fastcanon.canonicalize(unsigned) == expected
