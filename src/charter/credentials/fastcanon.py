"""Prototype fast canonicalization for credentials of a repeated shape (off by default).

pyld spends most of a credential's canonicalization re-processing the OB type-scoped contexts.
Credentials Charter issues have a handful of fixed shapes (same keys, types and contexts; only
string values differ), so this module expands each *shape* once with pyld, using sentinel
values, keeps the resulting N-Quads as a template, substitutes the real strings, and runs
RDFC-1.0 with pyoxigraph (Rust). Output is meant to be byte-identical to
:func:`charter.credentials.jsonld.canonicalize`; the property tests check that.

Anything the template cannot represent faithfully (a string in an IRI position that is not a
plain absolute IRI, which JSON-LD would expand or drop) falls back to pyld. Use it by passing
``canonicalize=fastcanon.canonicalize`` to :mod:`charter.credentials.proofs`; the safe-mode
check (:func:`charter.credentials.jsonld.dropped_terms`) is still pyld's.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import Any

import pyoxigraph
from pyld import jsonld as pyld_jsonld

from charter.credentials import jsonld

_SLOT = "urn:x-charter-slot:{}:z"
_SLOT_PATTERN = re.compile(r'<urn:x-charter-slot:(\d+):z>|"urn:x-charter-slot:(\d+):z"')
# Keys whose string values change the RDF structure, not just a value: kept in the shape.
_STRUCTURAL_KEYS = frozenset({"@context", "type", "@type", "@language", "@direction", "@index"})
# Strings that JSON-LD leaves untouched in an IRI position; anything else (a relative
# reference, a term, a compact IRI like xsd:string) may expand differently, so use pyld.
_PLAIN_IRI = re.compile(r"^(?:https?://|urn:|did:|mailto:)[^\s<>\"{}|\\^`]*$")
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_CACHE_SIZE = 256

_Template = list[str | tuple[int, bool]]
_templates: OrderedDict[str, tuple[_Template, list[str]]] = OrderedDict()


def canonicalize(document: dict[str, Any]) -> str:
    """Canonical N-Quads (RDFC-1.0) of a document, through a per-shape template."""
    shape, values = _shape(document)
    template, _ = _compiled(shape)
    parts: list[str] = []
    for part in template:
        if isinstance(part, str):
            parts.append(part)
            continue
        slot, is_iri = part
        value = values[slot]
        if is_iri:
            if not _PLAIN_IRI.match(value):
                return jsonld.canonicalize(document)
            parts.append(f"<{value}>")
        else:
            parts.append(f'"{_escape(value)}"')
    return _rdfc("".join(parts))


def dropped_terms(document: dict[str, Any]) -> list[str]:
    """:func:`charter.credentials.jsonld.dropped_terms`, computed once per shape."""
    shape, values = _shape(document)
    template, dropped = _compiled(shape)
    for part in template:
        # A string in an IRI position that is not a plain absolute IRI may be relative.
        if isinstance(part, tuple) and part[1] and not _PLAIN_IRI.match(values[part[0]]):
            return jsonld.dropped_terms(document)
    return list(dropped)


def clear_cache() -> None:
    """Forget every compiled shape (for tests and benchmarks)."""
    _templates.clear()


def _shape(document: dict[str, Any]) -> tuple[Any, list[str]]:
    values: list[str] = []

    def walk(node: Any, structural: bool) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k in _STRUCTURAL_KEYS) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, structural) for item in node]
        if isinstance(node, str) and not structural:
            values.append(node)
            return _SLOT.format(len(values) - 1)
        return node

    return walk(document, False), values


def _compiled(shape: Any) -> tuple[_Template, list[str]]:
    key = json.dumps(shape, sort_keys=True, separators=(",", ":"))
    entry = _templates.get(key)
    if entry is None:
        entry = (_compile(shape), jsonld.dropped_terms(shape))
        _templates[key] = entry
        if len(_templates) > _CACHE_SIZE:
            _templates.popitem(last=False)
    else:
        _templates.move_to_end(key)
    return entry


def _compile(shape: Any) -> _Template:
    nquads: str = pyld_jsonld.to_rdf(
        shape,
        {
            "documentLoader": jsonld.document_loader,
            "base": None,
            "format": "application/n-quads",
        },
    )
    template: _Template = []
    position = 0
    for match in _SLOT_PATTERN.finditer(nquads):
        template.append(nquads[position : match.start()])
        if match.group(1) is not None:
            template.append((int(match.group(1)), True))
        else:
            template.append((int(match.group(2)), False))
        position = match.end()
    template.append(nquads[position:])
    return template


def _rdfc(nquads: str) -> str:
    dataset = pyoxigraph.Dataset(pyoxigraph.parse(nquads, format=pyoxigraph.RdfFormat.N_QUADS))
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    lines = sorted(_quad_line(quad) for quad in dataset)
    return "".join(lines)


def _quad_line(quad: pyoxigraph.Quad) -> str:
    terms = [_term(quad.subject), _term(quad.predicate), _term(quad.object)]
    if not isinstance(quad.graph_name, pyoxigraph.DefaultGraph):
        terms.append(_term(quad.graph_name))
    return " ".join(terms) + " .\n"


def _term(term: Any) -> str:
    # Serialized like pyld (which escapes fewer control characters than oxigraph does).
    if isinstance(term, pyoxigraph.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, pyoxigraph.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, pyoxigraph.Literal):
        text = f'"{_escape(term.value)}"'
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype.value != _XSD_STRING:
            return f"{text}^^<{term.datatype.value}>"
        return text
    raise TypeError(f"unexpected RDF term {term!r}")


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace('"', '\\"')
    )
