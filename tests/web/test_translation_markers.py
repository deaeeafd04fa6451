"""Every page's text is marked for translation, and the committed catalogue is current.

The first tests read every template with Jinja's own parser: inside ``{% trans %}`` blocks the
text becomes a gettext call, so whatever text is left in ``TemplateData`` nodes is shown as
written, in English only. Tags, comments, entities, punctuation and data-like tokens (URLs,
codes) are not text; a short allow-list names what is left on purpose.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2 import nodes

from charter.web.pages import templates

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "charter" / "web"
POT = WEB / "locale" / "messages.pot"
BABEL_CFG = ROOT / "babel.cfg"

# Words shown as written in every language, each with its reason.
ALLOWED = {
    "Charter": "the product's name (brand, default site name)",
    "DE": "placeholder of the directory's country filter: an example ISO 3166 code",
}

# Attributes whose values people read (or hear, from a screen reader).
VISIBLE_ATTRIBUTES = ("alt", "title", "placeholder", "aria-label")
# Meta tags whose content is shown when a page is shared or listed by a search engine.
SHOWN_META = ("description", "og:title", "og:description", "og:image:alt", "twitter:title")

HOLE = "\x00"  # where the template outputs an expression: data, or text translated by _()
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1>", re.DOTALL | re.IGNORECASE)
TAG = re.compile(r"<[^>]*>")
ATTRIBUTE = re.compile(r"""\s([\w:-]+)\s*=\s*("[^"]*"|'[^']*')""")
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|\w+);")
WORD = re.compile(r"[^\W\d_]{2,}")


def _pieces(node: nodes.Node) -> Iterator[str]:
    """The template's literal text in order, a :data:`HOLE` for everything it computes."""
    if isinstance(node, nodes.Output):
        for child in node.nodes:
            yield child.data if isinstance(child, nodes.TemplateData) else HOLE
        return
    for child in node.iter_child_nodes():
        yield from _pieces(child)


def _skeleton(name: str) -> str:
    source, _, _ = templates.env.loader.get_source(templates.env, name)  # type: ignore[union-attr]
    return "".join(_pieces(templates.env.parse(source, name)))


def _attribute_texts(tag: str) -> Iterator[str]:
    attributes = {key.lower(): value[1:-1] for key, value in ATTRIBUTE.findall(tag)}
    for key in VISIBLE_ATTRIBUTES:
        if key in attributes:
            yield attributes[key]
    if tag.lower().startswith("<meta"):
        kind = attributes.get("name") or attributes.get("property") or ""
        if kind in SHOWN_META and "content" in attributes:
            yield attributes["content"]


# An event type or other dotted code (award.issued); an attribute written by a condition,
# outside its tag (aria-invalid="true").
CODE = re.compile(r"^[a-z_]+(\.[a-z_*]+)+$|^[\w:-]+=")


def _data_like(token: str) -> bool:
    return (
        "://" in token or token.startswith(("/", "#")) or HOLE in token or bool(CODE.match(token))
    )


def untranslated(text: str) -> list[str]:
    """The words of ``text`` (a template's skeleton) shown as written, not translated."""
    text = SCRIPT.sub(" ", COMMENT.sub(" ", text))
    shown = [piece for tag in TAG.findall(text) for piece in _attribute_texts(tag)]
    shown.append(TAG.sub(" ", text))
    words = []
    for piece in shown:
        for token in ENTITY.sub(" ", html.unescape(piece)).split():
            if _data_like(token) or token.strip(".,:;!?()[]'\"") in ALLOWED:
                continue
            if WORD.search(token):
                words.append(token)
    return words


TEMPLATES = sorted(name for name in templates.env.list_templates() if name.endswith(".html"))


def test_all_templates_are_read() -> None:
    assert len(TEMPLATES) > 50
    assert "public/directory.html" in TEMPLATES
    assert "reports/summary.html" in TEMPLATES


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_text_is_marked_for_translation(name: str) -> None:
    assert untranslated(_skeleton(name)) == [], f"{name} shows text outside translation markers"


def test_the_check_finds_unmarked_text() -> None:
    source = (
        '{% trans %}Marked{% endtrans %} <p title="Hover me">Loose words</p>'
        '<img alt="{{ name }} badge"> <!-- a comment --> &nbsp; · {{ value }} '
        '<a href="https://example.com/x">{{ _("Fine") }}</a> Charter'
        '<meta name="description" content="Shared text"><meta name="robots" content="noindex">'
        '<script type="application/ld+json">{"name": "data"}</script>'
    )
    skeleton = "".join(_pieces(templates.env.parse(source)))
    assert untranslated(skeleton) == ["Hover", "me", "badge", "Shared", "text", "Loose", "words"]


# --- The catalogue -------------------------------------------------------------------------


def _msgids(catalog: object) -> set[object]:
    return {message.id for message in catalog if message.id}  # type: ignore[attr-defined]


def test_committed_catalogue_is_current(tmp_path: Path) -> None:
    pytest.importorskip("babel")
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    with BABEL_CFG.open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, filename=str(BABEL_CFG))
    extracted = {
        (message if isinstance(message, str) else tuple(message))
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT / "src" / "charter"), method_map, options_map
        )
    }
    with POT.open("rb") as committed:
        catalogue = read_po(committed)
    assert extracted, "nothing was extracted: is babel.cfg's mapping right?"
    assert _msgids(catalogue) == extracted, "run `make messages` and commit messages.pot"


def test_catalogue_holds_texts_from_templates_and_python() -> None:
    pytest.importorskip("babel")
    from babel.messages.pofile import read_po

    with POT.open("rb") as committed:
        ids = _msgids(read_po(committed))
    assert "Partner directory" in ids  # a template's {% trans %}
    assert ("%(num)s certified person", "%(num)s certified people") not in ids
    assert ("%(count)s certified person", "%(count)s certified people") in ids  # a plural
    assert "This credential is authentic and in force." in ids  # a Python label, N_()
    assert "Webhooks" in ids  # a navigation section
