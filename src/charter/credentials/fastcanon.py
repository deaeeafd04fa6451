"""Fast RDFC-1.0 canonicalization for credentials of a repeated shape, byte-identical to pyld.

pyld spends most of a credential's canonicalization re-processing the OB type-scoped contexts.
Credentials have a handful of shapes (same keys, types and contexts; only string values differ),
so each *shape* is expanded once with pyld, using sentinel strings for the values, and kept as
an N-Quads template together with its safe-mode verdict (:func:`jsonld.dropped_terms`). A
document of a known shape is then canonicalized without JSON-LD processing: the real values are
substituted and RDFC-1.0 runs on the quads directly. When every blank node's first-degree hash
is unique (the case for every tree-shaped credential whose sibling nodes differ) the canonical
labels follow from those hashes alone; otherwise pyoxigraph's RDFC-1.0 does the labelling.

What the template cannot represent takes the general path (pyld) instead: a value in an IRI
position that is not a plain absolute IRI (JSON-LD would resolve or drop it), except short
vocabulary terms (``assertionMethod``, ``Certification``), which are kept in the shape; a shape
in which a value does not end up as a whole RDF term (``@json`` literals); a shape pyld refuses;
a shape too large to keep (see ``_MAX_SHAPE_TOKENS``).

Literals are escaped as RDFC-1.0 and Digital Bazaar's rdf-canonize write them
(:func:`charter.credentials.jsonld.escape_literal`, which jsonld.py also installs in pyld).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from string import Formatter
from typing import Any

import pyoxigraph

from charter.core.errors import Invalid
from charter.credentials import jsonld

_SLOT = "urn:x-charter-slot:{}:z"
_SLOT_MARK = "urn:x-charter-slot:"
_SLOT_PATTERN = re.compile(r'<urn:x-charter-slot:(\d+):z>|"urn:x-charter-slot:(\d+):z"')
# One N-Quads term: IRI, blank node, or literal with its optional datatype or language tag.
_TERM = re.compile(r'<[^>]*>|_:\S+|"(?:[^"\\]|\\.)*"(?:\^\^<[^>]*>|@[A-Za-z0-9-]+)?')
# Strings that JSON-LD leaves untouched in an IRI position. Anything else (a relative reference,
# a compact IRI like xsd:string, a blank node id) may expand differently: general path. Control
# characters are excluded because the templates use U+0000 as the blank-node marker.
_PLAIN_IRI = re.compile(r"(?:https?://|urn:|did:|mailto:)[^\x00-\x20<>\"{}|\\^`\x7f-\x9f]*")
# Values in a vocabulary position (``"@type": "@vocab"`` terms such as proofPurpose) that are
# kept in the shape, so the template is expanded with the real term.
_TERM_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")
_STRUCTURAL_KEYS = frozenset({"type"})
# Keywords whose string values are data; every other keyword's value is kept in the shape.
_VALUE_KEYWORDS = frozenset({"@id", "@value"})
_CACHE_SIZE = 512
# Anyone may post a credential to the verify route, and each new shape is compiled and kept; so
# only small shapes are (larger documents take the general path). A cached shape then holds at
# most about 60 KB, and 512 of them about 30 MB. Charter's credentials have under 100 tokens, 1 KB
# of shape and a 3 KB template.
_MAX_SHAPE_TOKENS = 512
_MAX_SHAPE_TEXT = 8 * 1024  # the shape key's repr
_MAX_TEMPLATE_TEXT = 32 * 1024
_BNODE = "\x00{}\x00"


class _Unsupported(Exception):
    """The shape cannot be templated; use the general path."""


@dataclass(frozen=True)
class _Compiled:
    """One shape: the N-Quads template, which quads name which blank node, the safe-mode verdict."""

    format: str  # str.format template of the N-Quads lines joined by "\n"; {i} = rendered slot
    slots: tuple[int, ...]  # value index of each format argument
    iri: tuple[bool, ...]  # whether each format argument is in an IRI position
    bnodes: int
    quads_of: tuple[tuple[int, ...], ...]  # per blank node, the lines that mention it
    others: tuple[tuple[tuple[int, ...], ...], ...]  # per blank node, per line, other nodes in it
    labelled: tuple[int, ...]  # lines that mention any blank node
    dropped: tuple[str, ...]
    supported: bool


_templates: OrderedDict[tuple[Any, ...], _Compiled] = OrderedDict()
# Every thread shares the compiled shapes, and an OrderedDict reordered and evicted from two
# threads at once raises KeyError; each look-up and change holds this lock. Compiling (pyld,
# milliseconds) happens outside it: two threads meeting a new shape both compile it, to equal
# results.
_templates_lock = threading.Lock()


@dataclass
class Analysis:
    """A document's shape and values, found once for both the safe-mode check and canonical form."""

    document: dict[str, Any]
    compiled: _Compiled | None  # None: the general path
    values: list[str]

    def dropped_terms(self) -> list[str]:
        """:func:`charter.credentials.jsonld.dropped_terms` of the document."""
        if self.compiled is None:
            return jsonld.dropped_terms(self.document)
        return list(self.compiled.dropped)

    def canonicalize(self) -> str:
        """:func:`charter.credentials.jsonld.canonicalize` of the document."""
        if self.compiled is None:
            return jsonld.canonicalize(self.document)
        try:
            return _canonical(self.compiled, self.values)
        except SyntaxError:
            # pyoxigraph parses IRIs more strictly than pyld emits them (a second '#'): such a
            # document takes the general path, which is the reference anyway.
            return jsonld.canonicalize(self.document)

    @property
    def fast(self) -> bool:
        """Whether the document is on the fast path."""
        return self.compiled is not None


def analyse(document: dict[str, Any]) -> Analysis:
    """Find the document's compiled shape (compiling it on first sight) and collect its values."""
    tokens: list[Any] = []
    values: list[str] = []
    try:
        _scan(document, tokens, values)
    except _Unsupported:
        return Analysis(document, None, values)
    key = tuple(tokens)
    compiled = _lookup(key, document, {})
    if compiled is None:
        return Analysis(document, None, values)
    pins: dict[int, str] = {}
    for slot, is_iri in zip(compiled.slots, compiled.iri, strict=True):
        if is_iri and _PLAIN_IRI.fullmatch(values[slot]) is None:
            if _TERM_LIKE.fullmatch(values[slot]) is None:
                return Analysis(document, None, values)
            pins[slot] = values[slot]
    if pins:
        compiled = _lookup((*key, *sorted(pins.items())), document, pins)
        if compiled is None:
            return Analysis(document, None, values)
    return Analysis(document, compiled, values)


@dataclass(frozen=True)
class Template:
    """A document with a few string values left open, canonicalized without rebuilding it.

    For many documents that differ only in those values (a batch of credentials): the shape is
    found and checked once, and each document's canonical form is computed from its values.
    """

    compiled: _Compiled
    values: tuple[str, ...]  # the sample document's values, in scan order
    positions: tuple[int, ...]  # the value index of each open field
    iri: tuple[bool, ...]  # whether each open field sits in an IRI position
    partial: _Partial  # the canonicalization work that does not depend on the open fields


def template(document: dict[str, Any], fields: list[str]) -> Template | None:
    """A :class:`Template` of ``document`` whose open fields hold the values ``fields``.

    ``None`` when the document is not on the fast path, fails the safe-mode check, or a field
    value does not occur exactly once among its string values.
    """
    analysis = analyse(document)
    compiled = analysis.compiled
    if compiled is None or compiled.dropped:
        return None
    positions: list[int] = []
    for field in fields:
        found = [index for index, value in enumerate(analysis.values) if value == field]
        if len(found) != 1:
            return None
        positions.append(found[0])
    in_iri = {slot for slot, is_iri in zip(compiled.slots, compiled.iri, strict=True) if is_iri}
    return Template(
        compiled,
        tuple(analysis.values),
        tuple(positions),
        tuple(position in in_iri for position in positions),
        _partial(compiled, analysis.values, positions),
    )


def canonicalize_template(filled: Template, field_values: list[str]) -> str | None:
    """The canonical form of the template's document with ``field_values`` in its open fields.

    Equal to :func:`canonicalize` of that document; ``None`` when a value would take the
    document off the fast path (the caller then canonicalizes the document itself).
    """
    rendered: list[str] = []
    for is_iri, value in zip(filled.iri, field_values, strict=True):
        if is_iri:
            if _PLAIN_IRI.fullmatch(value) is None:
                return None
            rendered.append(f"<{value}>")
        else:
            rendered.append(f'"{jsonld.escape_literal(value)}"')
    canonical = _canonical_partial(filled.partial, rendered)
    if canonical is not None:
        return canonical
    # Values that merge two quads or tie two blank nodes: the whole algorithm decides.
    values = list(filled.values)
    for position, value in zip(filled.positions, field_values, strict=True):
        values[position] = value
    try:
        return _canonical(filled.compiled, values)
    except SyntaxError:
        return None


@dataclass(frozen=True)
class _Fill:
    """A str.format template over rendered values, filled by a join (no parsing per call)."""

    pieces: list[str]  # the literal text, with a stand-in where each value goes
    places: tuple[tuple[int, int], ...]  # (index in pieces, value index)

    @classmethod
    def of(cls, template: str) -> _Fill:
        pieces: list[str] = []
        places: list[tuple[int, int]] = []
        for literal, name, _, _ in Formatter().parse(template):
            pieces.append(literal)
            if name is not None:
                places.append((len(pieces), int(name)))
                pieces.append("")
        return cls(pieces, tuple(places))

    def __call__(self, rendered: list[str]) -> str:
        parts = self.pieces.copy()
        for place, value in self.places:
            parts[place] = rendered[value]
        return "".join(parts)


@dataclass(frozen=True)
class _Labelled:
    """A template's lines for one labelling of its blank nodes."""

    variable: _Fill  # the lines with open fields, joined by newlines
    fixed: list[str]  # the other lines, sorted
    fixed_set: frozenset[str]


@dataclass(frozen=True)
class _Partial:
    """A template's canonicalization, done once for everything its open fields do not touch.

    RDFC-1.0 on a template's quads (as :func:`_canonical` runs it) needs, per document, only
    the lines that hold an open field rendered, the first-degree hashes of the blank nodes those
    lines mention, and a merge of those lines into the other lines, already relabelled and
    sorted for the labelling the hashes give. :func:`_canonical_partial` does that and gives
    the same text as :func:`_canonical`; where it cannot (values that make two quads equal or
    two blank nodes' hashes tie) it declines and the caller runs :func:`_canonical`.

    Rendered values never hold a newline or U+0000 (literals are escaped, IRIs are plain), so
    lines and blank-node markers survive formatting intact.
    """

    bnodes: int
    distinct: bool  # whether the fixed lines differ from each other (else: always _canonical)
    variable: tuple[str, ...]  # format templates of the lines with open fields, markers in place
    fixed: tuple[str, ...]  # the other lines, markers in place
    labelled: tuple[int, ...]  # which fixed lines mention a blank node
    fixed_hashes: tuple[str | None, ...]  # per node, its first-degree hash if no open field
    # reaches it, else None
    fixed_serialized: tuple[tuple[str, ...], ...]  # per node, its fixed lines as hashed
    hashed: _Fill  # the lines with open fields as the varying nodes hash them
    hashed_counts: tuple[int, ...]  # how many of those lines each varying node has
    by_labels: dict[tuple[str, ...], _Labelled]  # per labelling seen


def _escape_format(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _partial(compiled: _Compiled, values: list[str], positions: list[int]) -> _Partial:
    """The :class:`_Partial` of a template with open fields at value ``positions``."""
    open_field = {position: field for field, position in enumerate(positions)}
    fixed_text: list[str | None] = []  # per line: its text, or None if an open field is in it
    formats: list[str] = []  # per line: a format template over the open fields
    for line in compiled.format.split("\n"):
        raw: list[str] = []
        escaped: list[str] = []
        has_open = False
        for literal, name, _, _ in Formatter().parse(line):
            raw.append(literal)
            escaped.append(_escape_format(literal))
            if name is None:
                continue
            argument = int(name)
            slot = compiled.slots[argument]
            if slot in open_field:
                has_open = True
                escaped.append(f"{{{open_field[slot]}}}")
                continue
            value = (
                f"<{values[slot]}>"
                if compiled.iri[argument]
                else f'"{jsonld.escape_literal(values[slot])}"'
            )
            raw.append(value)
            escaped.append(_escape_format(value))
        fixed_text.append(None if has_open else "".join(raw))
        formats.append("".join(escaped))
    fixed_numbers = [number for number, text in enumerate(fixed_text) if text is not None]
    fixed = tuple(text for text in fixed_text if text is not None)
    labelled = set(compiled.labelled)
    fixed_hashes: list[str | None] = []
    fixed_serialized: list[tuple[str, ...]] = []
    hashed: list[str] = []
    hashed_counts: list[int] = []
    for node in range(compiled.bnodes):
        serialized: list[str] = []
        varying: list[str] = []
        for number, others in zip(compiled.quads_of[node], compiled.others[node], strict=True):
            text = fixed_text[number]
            if text is None:
                varying.append(_first_degree_line(formats[number], node, others))
            else:
                serialized.append(_first_degree_line(text, node, others) + "\n")
        fixed_serialized.append(tuple(serialized))
        fixed_hashes.append(None if varying else _hash_lines(list(serialized)))
        if varying and compiled.bnodes > 1:
            hashed.extend(varying)
            hashed_counts.append(len(varying))
    return _Partial(
        bnodes=compiled.bnodes,
        distinct=len(set(fixed)) == len(fixed),
        variable=tuple(formats[number] for number, text in enumerate(fixed_text) if text is None),
        fixed=fixed,
        labelled=tuple(
            position for position, number in enumerate(fixed_numbers) if number in labelled
        ),
        fixed_hashes=tuple(fixed_hashes),
        fixed_serialized=tuple(fixed_serialized),
        hashed=_Fill.of("\n".join(hashed)),
        hashed_counts=tuple(hashed_counts),
        by_labels={},
    )


def _first_degree_line(line: str, node: int, others: tuple[int, ...]) -> str:
    """A quad as it enters ``node``'s first-degree hash: itself _:a, other nodes _:z."""
    line = line.replace(_BNODE.format(node), "_:a")
    for other in others:
        line = line.replace(_BNODE.format(other), "_:z")
    return line


def _hash_lines(serialized: list[str]) -> str:
    serialized.sort()
    return hashlib.sha256("".join(serialized).encode("utf-8")).hexdigest()


def _labels(hashes: list[str]) -> list[str] | None:
    """Canonical labels of blank nodes from their first-degree hashes, in hash order; None when
    two hashes tie (RDFC-1.0's n-degree step must decide)."""
    if len(set(hashes)) != len(hashes):
        return None
    labels = [""] * len(hashes)
    for rank, node in enumerate(sorted(range(len(hashes)), key=hashes.__getitem__)):
        labels[node] = f"_:c14n{rank}"
    return labels


def _relabel(line: str, labels: list[str]) -> str:
    for node, label in enumerate(labels):
        line = line.replace(_BNODE.format(node), label)
    return line


_LABELLINGS_KEPT = 8


def _labelled(partial: _Partial, labels: list[str]) -> _Labelled:
    # No lock: by_labels is only read with get() and changed by single dict operations, and a
    # value is complete before it is stored, so two threads at worst build the same one twice.
    key = tuple(labels)
    found = partial.by_labels.get(key)
    if found is None:
        fixed = list(partial.fixed)
        for position in partial.labelled:
            fixed[position] = _relabel(fixed[position], labels)
        fixed.sort()
        variable = _Fill.of("\n".join(_relabel(line, labels) for line in partial.variable))
        if len(partial.by_labels) >= _LABELLINGS_KEPT:
            partial.by_labels.clear()
        found = partial.by_labels[key] = _Labelled(variable, fixed, frozenset(fixed))
    return found


def _canonical_partial(partial: _Partial, rendered: list[str]) -> str | None:
    """The canonical form of a template's document whose open fields render as ``rendered``
    (IRIs in angle brackets, literals quoted and escaped); None where :func:`_canonical` must
    decide."""
    if not partial.distinct:
        return None
    bnodes = partial.bnodes
    if bnodes == 0:
        labels: list[str] = []
    elif bnodes == 1:
        labels = ["_:c14n0"]
    else:
        lines = partial.hashed(rendered).split("\n") if partial.hashed_counts else []
        hashes: list[str] = []
        start = 0
        counts = iter(partial.hashed_counts)
        for node in range(bnodes):
            found = partial.fixed_hashes[node]
            if found is None:
                end = start + next(counts)
                serialized = [
                    *partial.fixed_serialized[node],
                    *(f"{line}\n" for line in lines[start:end]),
                ]
                start = end
                found = _hash_lines(serialized)
            hashes.append(found)
        found_labels = _labels(hashes)
        if found_labels is None:
            return None
        labels = found_labels
    labelled = _labelled(partial, labels)
    if not partial.variable:
        return "\n".join(labelled.fixed) + "\n"
    # Relabelling maps equal lines to equal lines and unequal to unequal (markers and labels
    # are whole terms), so equal quads are found here as _canonical finds them before it.
    variable = labelled.variable(rendered).split("\n")
    fixed = labelled.fixed_set
    if len(set(variable)) != len(variable) or any(line in fixed for line in variable):
        return None  # equal quads merge: _canonical's pyoxigraph path
    merged = labelled.fixed + variable
    merged.sort()
    merged.append("")
    return "\n".join(merged)


def canonicalize(document: dict[str, Any]) -> str:
    """Canonical N-Quads (RDFC-1.0) of a document, equal to :func:`jsonld.canonicalize`."""
    return analyse(document).canonicalize()


def dropped_terms(document: dict[str, Any]) -> list[str]:
    """:func:`charter.credentials.jsonld.dropped_terms`, computed once per shape."""
    return analyse(document).dropped_terms()


def clear_cache() -> None:
    """Forget every compiled shape (for tests and benchmarks)."""
    with _templates_lock:
        _templates.clear()


def _structural(key: str) -> bool:
    return key in _STRUCTURAL_KEYS or (key[:1] == "@" and key not in _VALUE_KEYWORDS)


_OPEN_OBJECT, _CLOSE_OBJECT, _OPEN_LIST, _CLOSE_LIST, _VALUE = range(5)


def _scan(node: dict[str, Any], tokens: list[Any], values: list[str]) -> None:
    # The shape key: keys, structure, and every value except strings outside structural
    # positions; those are collected in order (the same order _sentinel numbers them in).
    # Markers are ints and keys are strs, so the two never collide in the key.
    append = tokens.append
    append(_OPEN_OBJECT)
    for key, value in node.items():
        append(key)
        kind = type(value)
        if kind is str:
            if _structural(key):
                append(("s", value))
            else:
                append(_VALUE)
                values.append(value)
        elif _structural(key):
            append(_frozen(value))
        elif kind is dict:
            _scan(value, tokens, values)
        elif kind is list:
            _scan_list(value, tokens, values)
        else:
            append(_scalar(value))
    append(_CLOSE_OBJECT)


def _scan_list(node: list[Any], tokens: list[Any], values: list[str]) -> None:
    append = tokens.append
    append(_OPEN_LIST)
    for item in node:
        kind = type(item)
        if kind is str:
            append(_VALUE)
            values.append(item)
        elif kind is dict:
            _scan(item, tokens, values)
        elif kind is list:
            _scan_list(item, tokens, values)
        else:
            append(_scalar(item))
    append(_CLOSE_LIST)


def _scalar(value: Any) -> tuple[str, Any]:
    kind = type(value)
    if kind is bool or kind is int or kind is float or value is None:
        # Typed, so that True, 1 and 1.0 (equal as dict keys) are different shapes.
        return (kind.__name__, value)
    raise _Unsupported


def _frozen(value: Any) -> Any:
    """A hashable, type-preserving copy of a structural value (a @context, a type list)."""
    kind = type(value)
    if kind is str:
        return ("s", value)
    if kind is list:
        return ("l", *[_frozen(item) for item in value])
    if kind is dict:
        return ("d", *[(key, _frozen(item)) for key, item in value.items()])
    return _scalar(value)


def _sentinel(node: Any, structural: bool, counter: list[int], pins: dict[int, str]) -> Any:
    kind = type(node)
    if kind is str:
        if structural:
            return node
        index = counter[0]
        counter[0] += 1
        return pins.get(index, _SLOT.format(index))
    if kind is dict:
        return {
            key: _sentinel(value, structural or _structural(key), counter, pins)
            for key, value in node.items()
        }
    if kind is list:
        return [_sentinel(item, structural, counter, pins) for item in node]
    return node


def _lookup(
    key: tuple[Any, ...], document: dict[str, Any], pins: dict[int, str]
) -> _Compiled | None:
    with _templates_lock:
        compiled = _templates.get(key)
        if compiled is not None:
            _templates.move_to_end(key)
    if compiled is None:
        if len(key) > _MAX_SHAPE_TOKENS or len(repr(key)) > _MAX_SHAPE_TEXT:
            return None
        compiled = _compile(_sentinel(document, False, [0], pins))
        if len(compiled.format) > _MAX_TEMPLATE_TEXT:
            compiled = _unsupported()
        with _templates_lock:
            _templates[key] = compiled
            if len(_templates) > _CACHE_SIZE:
                _templates.popitem(last=False)
    return compiled if compiled.supported else None


def _unsupported() -> _Compiled:
    return _Compiled("", (), (), 0, (), (), (), (), supported=False)


def _compile(shape: dict[str, Any]) -> _Compiled:
    try:
        nquads = jsonld.to_nquads(shape)
        dropped = tuple(jsonld.dropped_terms(shape))
    except Invalid:
        return _unsupported()
    lines = list(dict.fromkeys(line for line in nquads.split("\n") if line))
    labels: dict[str, int] = {}
    slots: list[int] = []
    iri: list[bool] = []
    arguments: dict[int, int] = {}
    rendered: list[str] = []
    mentions: list[list[int]] = []
    for line in lines:
        terms = _TERM.findall(line)
        if " ".join(terms) + " ." != line:
            return _unsupported()
        out: list[str] = []
        named: list[int] = []
        for term in terms:
            if term.startswith("_:"):
                node = labels.setdefault(term, len(labels))
                named.append(node)
                out.append(_BNODE.format(node))
                continue
            pieces: list[str] = []
            position = 0
            for match in _SLOT_PATTERN.finditer(term):
                is_iri = match.group(1) is not None
                slot = int(match.group(1) if is_iri else match.group(2))
                # A slot must be a whole term (not inside a @json literal, say).
                if match.start() != 0 or (is_iri and match.end() != len(term)):
                    return _unsupported()
                if slot in arguments and iri[arguments[slot]] != is_iri:
                    return _unsupported()
                if slot not in arguments:
                    arguments[slot] = len(slots)
                    slots.append(slot)
                    iri.append(is_iri)
                pieces.append(f"{{{arguments[slot]}}}")
                position = match.end()
            rest = term[position:]
            if _SLOT_MARK in rest:
                return _unsupported()
            pieces.append(rest.replace("{", "{{").replace("}", "}}"))
            out.append("".join(pieces))
        rendered.append(" ".join(out) + " .")
        mentions.append(named)
    bnodes = len(labels)
    quads_of = tuple(
        tuple(i for i, named in enumerate(mentions) if node in named) for node in range(bnodes)
    )
    others = tuple(
        tuple(tuple(sorted(set(mentions[i]) - {node})) for i in quads_of[node])
        for node in range(bnodes)
    )
    return _Compiled(
        format="\n".join(rendered),
        slots=tuple(slots),
        iri=tuple(iri),
        bnodes=bnodes,
        quads_of=quads_of,
        others=others,
        labelled=tuple(i for i, named in enumerate(mentions) if named),
        dropped=dropped,
        supported=True,
    )


def _canonical(compiled: _Compiled, values: list[str]) -> str:
    arguments = [
        f"<{values[slot]}>" if is_iri else f'"{jsonld.escape_literal(values[slot])}"'
        for slot, is_iri in zip(compiled.slots, compiled.iri, strict=True)
    ]
    lines = compiled.format.format(*arguments).split("\n")
    if len(set(lines)) != len(lines):
        # Equal values made two quads equal (two nodes with the same IRI merge in RDF).
        return _canonical_oxigraph(lines)
    bnodes = compiled.bnodes
    if bnodes == 0:
        lines.sort()
        return "\n".join(lines) + "\n"
    if bnodes == 1:
        labels = ["_:c14n0"]
    else:
        found = _labels(
            [
                _hash_lines(
                    [
                        _first_degree_line(lines[line_index], node, others) + "\n"
                        for line_index, others in zip(
                            compiled.quads_of[node], compiled.others[node], strict=True
                        )
                    ]
                )
                for node in range(bnodes)
            ]
        )
        if found is None:
            return _canonical_oxigraph(lines)
        labels = found
    for line_index in compiled.labelled:
        lines[line_index] = _relabel(lines[line_index], labels)
    lines.sort()
    return "\n".join(lines) + "\n"


def _canonical_oxigraph(lines: list[str]) -> str:
    nquads = re.sub("\x00(\\d+)\x00", r"_:b\1", "\n".join(dict.fromkeys(lines))) + "\n"
    dataset = pyoxigraph.Dataset(pyoxigraph.parse(nquads, format=pyoxigraph.RdfFormat.N_QUADS))
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    # pyoxigraph writes literals as RDFC-1.0 does (the same escapes as escape_literal).
    return "".join(sorted(f"{quad} .\n" for quad in dataset))
