"""Baked badges: an OB 3.0 credential carried inside its PNG or SVG image (OB 3.0 "Baked Badge").

PNG: one uncompressed ``iTXt`` chunk with keyword ``openbadgecredential`` before ``IEND``.
SVG: an ``<openbadges:credential>`` element (namespace ``https://purl.imsglobal.org/ob/v3p0``)
right after the opening ``<svg>`` tag, the JSON in CDATA (or a ``verify`` attribute holding a
compact JWS). Re-baking replaces the credential; extraction takes the first one. SVG is parsed
with no network, no DTD loading and no entity expansion, and documents declaring entities are
refused outright.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Literal
from xml.sax.saxutils import escape

from lxml import etree
from PIL import Image, ImageDraw, ImageFont

from charter.core.errors import Invalid

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"openbadgecredential"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
MAX_IMAGE_BYTES = 16 * 1024 * 1024
MAX_TEXT_BYTES = 4 * 1024 * 1024
"""Largest credential text accepted out of a (compressed) chunk: a credential is a few KiB."""
_CREDENTIAL_TAG = f"{{{OB_NAMESPACE}}}credential"

Kind = Literal["json", "png", "svg"]


def _bad(detail: str) -> Invalid:
    return Invalid.field("file", detail)


def sniff(data: bytes) -> Kind:
    """What a file holds: credential JSON, a PNG or an SVG (by content, not by name)."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"<") and b"<svg" in data[:65536]:
        return "svg"
    raise _bad("not a credential: expected JSON, a PNG or an SVG")


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every ``(type, data)`` chunk of a PNG, checking lengths and CRCs."""
    if not data.startswith(PNG_SIGNATURE):
        raise _bad("not a PNG image")
    chunks = []
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        if offset + 8 > len(data):
            raise _bad("the PNG is truncated")
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise _bad("the PNG is truncated")
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : end])
        if zlib.crc32(kind + body) != crc:
            raise _bad(f"the PNG's {kind.decode('latin-1')} chunk is damaged (CRC mismatch)")
        chunks.append((kind, body))
        offset = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise _bad("the PNG has no IHDR or IEND chunk")
    return chunks


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _is_credential_chunk(kind: bytes, body: bytes) -> bool:
    return kind == b"iTXt" and body.split(b"\x00", 1)[0] == PNG_KEYWORD


def bake_png(image_png: bytes, credential_json: str) -> bytes:
    """The PNG with ``credential_json`` in one uncompressed ``iTXt`` chunk (replacing any)."""
    chunks = [c for c in _chunks(image_png) if not _is_credential_chunk(*c)]
    # keyword \0, compression flag 0, method 0, empty language tag \0, empty translated kw \0
    body = PNG_KEYWORD + b"\x00\x00\x00\x00\x00" + credential_json.encode("utf-8")
    out = io.BytesIO()
    out.write(PNG_SIGNATURE)
    for kind, data in chunks[:-1]:
        out.write(_chunk(kind, data))
    out.write(_chunk(b"iTXt", body))
    out.write(_chunk(b"IEND", b""))
    return out.getvalue()


def extract_png(data: bytes) -> str:
    """The credential text of the first ``openbadgecredential`` ``iTXt`` chunk of a PNG."""
    for kind, body in _chunks(data):
        if not _is_credential_chunk(kind, body):
            continue
        rest = body[len(PNG_KEYWORD) + 1 :]
        if len(rest) < 2:
            raise _bad("the PNG's openbadgecredential chunk is malformed")
        compressed, method = rest[0], rest[1]
        try:
            _language, _translated, text = rest[2:].split(b"\x00", 2)
        except ValueError as error:
            raise _bad("the PNG's openbadgecredential chunk is malformed") from error
        if compressed:
            # Not what the spec asks for, but harmless to read; bounded against zip bombs.
            if method != 0:
                raise _bad("the PNG's openbadgecredential chunk uses an unknown compression")
            text = _inflate(text)
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _bad("the PNG's openbadgecredential text is not UTF-8") from error
    raise _bad("no Open Badges credential is baked into this PNG")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, MAX_TEXT_BYTES)
    except zlib.error as error:
        raise _bad("the PNG's compressed credential is damaged") from error
    if inflater.unconsumed_tail:
        raise _bad("the baked credential is larger than Charter accepts")
    return text


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def _parse_svg(svg: bytes | str) -> etree._ElementTree:
    data = svg.encode("utf-8") if isinstance(svg, str) else svg
    if len(data) > MAX_IMAGE_BYTES:
        raise _bad("the SVG is larger than Charter accepts")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise _bad(f"not a readable SVG: {error}") from error
    tree = root.getroottree()
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        # Entities serve no purpose in a badge image and are the vehicle of XXE and
        # "billion laughs"; even unexpanded, such a file is refused rather than re-served.
        raise _bad("SVG files declaring XML entities are refused")
    if etree.QName(root).localname != "svg":
        raise _bad("not an SVG: the root element is not <svg>")
    return tree


def _cdata_safe(credential_json: str) -> str:
    # "]]>" cannot occur in CDATA. In JSON a ">" is never structural, so this can only be
    # inside a string, where \u003e means the same character.
    return credential_json.replace("]]>", "]]\\u003e")


def bake_svg(svg: bytes | str, credential_json: str) -> bytes:
    """The SVG with ``credential_json`` in ``<openbadges:credential>`` (replacing any)."""
    tree = _parse_svg(svg)
    root = tree.getroot()
    for old in root.findall(_CREDENTIAL_TAG):
        _remove_keeping_tail(old)
    element = etree.Element(_CREDENTIAL_TAG, nsmap={"openbadges": OB_NAMESPACE})
    element.text = etree.CDATA(_cdata_safe(credential_json))
    root.insert(0, element)
    element.tail = root.text
    root.text = None
    # Declares xmlns:openbadges on <svg> itself, as the spec shows, not on the element.
    etree.cleanup_namespaces(tree, top_nsmap={"openbadges": OB_NAMESPACE})
    result: bytes = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    return result


def _remove_keeping_tail(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def extract_svg(data: bytes | str) -> str:
    """The first baked credential of an SVG: the JSON text, or a JWS ``verify`` attribute."""
    root = _parse_svg(data).getroot()
    element = next(root.iter(_CREDENTIAL_TAG), None)
    if element is None:
        raise _bad("no Open Badges credential is baked into this SVG")
    verify = element.get("verify")
    if verify:
        return str(verify).strip()
    text = (element.text or "").strip()
    if not text:
        raise _bad("the SVG's openbadges:credential element is empty")
    return text


def extract(data: bytes) -> tuple[Kind, str]:
    """The credential text in a JSON file, a baked PNG or a baked SVG, and which it was."""
    kind = sniff(data)
    if kind == "png":
        return kind, extract_png(data)
    if kind == "svg":
        return kind, extract_svg(data)
    try:
        return kind, data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _bad("the JSON is not UTF-8") from error


BADGE_SIZE = 600


def _hex_colour(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise Invalid.field("colour", "must be a hex colour like #1f6feb")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    if factor < 1:
        r, g, b = (int(c * factor) for c in rgb)
    else:
        r, g, b = (int(c + (255 - c) * (factor - 1)) for c in rgb)
    return r, g, b


def _wrap(text: str, limit: int, max_lines: int) -> list[str]:
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if len(candidate) <= limit or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(limit - 1, 1)].rstrip() + "…"
    return [line if len(line) <= limit + 1 else line[:limit] + "…" for line in lines]


def default_badge_svg(title: str, subtitle: str, colour: str = "#1f6feb") -> bytes:
    """A generated badge design (a ribboned medallion with the title) as SVG."""
    rgb = _hex_colour(colour)
    dark = "#{:02x}{:02x}{:02x}".format(*_shade(rgb, 0.65))
    light = "#{:02x}{:02x}{:02x}".format(*_shade(rgb, 1.85))
    main = "#{:02x}{:02x}{:02x}".format(*rgb)
    title_lines = _wrap(title, 18, 3)
    size = BADGE_SIZE
    centre = size // 2
    first_y = 290 - (len(title_lines) - 1) * 22
    title_svg = "".join(
        f'<tspan x="{centre}" y="{first_y + i * 44}">{escape(line)}</tspan>'
        for i, line in enumerate(title_lines)
    )
    subtitle_line = escape(_wrap(subtitle, 28, 1)[0]) if subtitle.strip() else ""
    svg = f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="{SVG_NAMESPACE}" width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img">
  <title>{escape(title)}</title>
  <path d="M190 400 L150 580 L220 545 L255 600 L290 430 Z" fill="{dark}"/>
  <path d="M410 400 L450 580 L380 545 L345 600 L310 430 Z" fill="{dark}"/>
  <circle cx="{centre}" cy="270" r="230" fill="{main}"/>
  <circle cx="{centre}" cy="270" r="200" fill="{light}"/>
  <circle cx="{centre}" cy="270" r="188" fill="none" stroke="{main}" stroke-width="4"/>
  <text x="{centre}" y="{first_y}" text-anchor="middle" font-family="DejaVu Sans, Arial, sans-serif"
        font-size="38" font-weight="bold" fill="{dark}">{title_svg}</text>
  <text x="{centre}" y="{first_y + len(title_lines) * 44 + 20}" text-anchor="middle"
        font-family="DejaVu Sans, Arial, sans-serif" font-size="24"
        fill="{dark}">{subtitle_line}</text>
</svg>
"""
    return svg.encode("utf-8")


def default_badge_png(title: str, subtitle: str, colour: str = "#1f6feb") -> bytes:
    """The same generated design as :func:`default_badge_svg`, drawn with Pillow as a PNG."""
    rgb = _hex_colour(colour)
    dark, light = _shade(rgb, 0.65), _shade(rgb, 1.85)
    # Drawn at twice the size and scaled down: Pillow's shapes have no anti-aliasing.
    scale = 2
    size = BADGE_SIZE * scale
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def s(*values: int) -> list[int]:
        return [v * scale for v in values]

    draw.polygon(s(190, 400, 150, 580, 220, 545, 255, 600, 290, 430), fill=dark)
    draw.polygon(s(410, 400, 450, 580, 380, 545, 345, 600, 310, 430), fill=dark)
    draw.ellipse(s(70, 40, 530, 500), fill=rgb)
    draw.ellipse(s(100, 70, 500, 470), fill=light)
    draw.ellipse(s(112, 82, 488, 458), outline=rgb, width=4 * scale)
    title_font = ImageFont.load_default(size=38 * scale)
    subtitle_font = ImageFont.load_default(size=24 * scale)
    title_lines = _wrap(title, 18, 3)
    first_y = 290 - (len(title_lines) - 1) * 22
    centre = BADGE_SIZE // 2
    for index, line in enumerate(title_lines):
        draw.text(
            ((centre) * scale, (first_y + index * 44) * scale),
            line,
            font=title_font,
            fill=dark,
            anchor="ms",
        )
    if subtitle.strip():
        draw.text(
            (centre * scale, (first_y + len(title_lines) * 44 + 20) * scale),
            _wrap(subtitle, 28, 1)[0],
            font=subtitle_font,
            fill=dark,
            anchor="ms",
        )
    image = image.resize((BADGE_SIZE, BADGE_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
