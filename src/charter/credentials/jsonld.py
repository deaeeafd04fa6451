"""JSON-LD processing for credentials, offline: expansion, RDFC-1.0 canonicalization, safe mode.

Only the contexts vendored in ``contexts/`` (listed in ``contexts/index.json``) are ever loaded;
any other URL is an error, never a network request. pyld has no "safe mode", but Digital
Bazaar's verifiers canonicalize with ``safe: true`` and refuse documents in which a term or a
type does not expand to an absolute IRI; :func:`dropped_terms` finds those, so Charter can refuse
to sign what others would refuse to verify.

Every call into pyld goes through this module, one thread at a time (see :data:`_PYLD_LOCK`).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import Any

from pyld import jsonld
from pyld import nquads as pyld_nquads
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver
from pyld.jsonld import JsonLdError, JsonLdProcessor

from charter.core.errors import FieldError, Invalid

# pyld 3.3 writes control characters raw in N-Quads; RDFC-1.0, pyoxigraph and Digital Bazaar's
# rdf-canonize escape them, and the escapes change blank-node hashes too. Patched here, where
# every canonicalization in Charter starts, so all paths agree with the JavaScript verifier.
_ECHAR = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_ESCAPES = {
    code: _ECHAR.get(chr(code), f"\\u{code:04X}")
    for code in [*range(0x20), 0x7F, ord('"'), ord("\\")]
}
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')


def escape_literal(value: str) -> str:
    """A string escaped for an N-Quads literal, as RDFC-1.0 (and rdf-canonize) write it."""
    if _NEEDS_ESCAPE.search(value) is None:
        return value
    return value.translate(_ESCAPES)


pyld_nquads.escape = escape_literal

# pyld 3.3 keeps processed contexts in module-level caches and changes them without a lock, on
# lookups too (an LRU lookup reorders): the resolved contexts (``_resolved_context_cache``, an
# LRUCache of 100), each one's processed forms (``ResolvedContext.cache``, 10 per context), the
# inverse contexts and ``INITIAL_CONTEXTS``. Two threads inside pyld raise KeyError or
# "OrderedDict mutated during iteration", or see a context half processed and report "invalid
# scoped context". So every call into pyld holds this lock. pyld is pure Python: the GIL ran one
# thread in it at a time anyway, so the lock costs waiting, not throughput; the caches stay
# shared, warm and bounded by pyld's own sizes; and the fast path (fastcanon) enters pyld only
# to compile a shape it has not seen. Reentrant, so that nesting can never deadlock.
_PYLD_LOCK = threading.RLock()

_CONTEXTS_PACKAGE = "charter.credentials.contexts"


class UnknownContextError(Exception):
    """A document asked for a context that is not vendored with Charter."""

    def __init__(self, url: str) -> None:
        super().__init__(f"context {url} is not available offline (not vendored with Charter)")
        self.url = url


@cache
def context_index() -> dict[str, str]:
    """The vendored contexts: URL → file name inside ``charter/credentials/contexts``."""
    text = resources.files(_CONTEXTS_PACKAGE).joinpath("index.json").read_text("utf-8")
    index: dict[str, str] = json.loads(text)
    return index


@cache
def _context_document(url: str) -> dict[str, Any]:
    name = context_index()[url]
    text = resources.files(_CONTEXTS_PACKAGE).joinpath(name).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def load_context(url: str) -> dict[str, Any]:
    """A vendored context document by URL (a fresh copy); :class:`UnknownContextError` otherwise."""
    if url not in context_index():
        raise UnknownContextError(url)
    return copy.deepcopy(_context_document(url))


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader serving only the vendored contexts."""
    # "static" lets pyld keep the processed context across calls (contexts are immutable);
    # without it every expansion re-processes the OB context from scratch.
    return {"contextUrl": None, "documentUrl": url, "document": load_context(url), "tag": "static"}


def _options(document: Any, **extra: Any) -> dict[str, Any]:
    # pyld resolves relative IRIs against http://example.org/base/ when the base is "";
    # jsonld.js (Digital Bazaar's verifiers) leaves them relative and drops them from RDF.
    # A None base makes pyld do the same, so both sides hash the same N-Quads.
    options = {"documentLoader": document_loader, "base": None, **extra}
    if _uses_import(document):
        # pyld merges an @import-ed context into the cached context document itself
        # (``import_ctx.update`` in ``_process_context``): one such document would define its
        # terms for every later one. It gets a context cache of its own, dropped afterwards.
        options["contextResolver"] = ContextResolver({}, document_loader)
    return options


def _uses_import(node: Any) -> bool:
    if isinstance(node, dict):
        return "@import" in node or any(_uses_import(value) for value in node.values())
    if isinstance(node, list):
        return any(_uses_import(item) for item in node)
    return False


@contextmanager
def _pyld() -> Iterator[None]:
    """One thread in pyld at a time (see _PYLD_LOCK); its errors as :class:`Invalid`."""
    with _PYLD_LOCK, _jsonld_errors():
        yield


def expand(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON-LD expanded form of a document, with the vendored contexts only."""
    with _pyld():
        result: list[dict[str, Any]] = jsonld.expand(document, _options(document))
    return result


def canonicalize(document: dict[str, Any]) -> str:
    """Canonical N-Quads of a document (RDFC-1.0, called URDNA2015 by pyld), UTF-8 text."""
    with _pyld():
        result: str = jsonld.normalize(
            document,
            _options(document, algorithm="URDNA2015", format="application/n-quads"),
        )
    return result


def to_nquads(document: dict[str, Any]) -> str:
    """The document's RDF as N-Quads, in pyld's order and blank node labels (not canonical)."""
    with _pyld():
        result: str = jsonld.to_rdf(document, _options(document, format="application/n-quads"))
    return result


# RDFC-1.0 sorts N-Quads (and the quads hashed for blank node labels) by Unicode code point,
# as Python's str order, pyld and pyoxigraph do. Digital Bazaar's rdf-canonize sorts JavaScript
# strings, i.e. by UTF-16 code unit: a character above U+FFFF (a surrogate pair, 0xD800-0xDBFF
# first) then sorts *before* one in U+E000-U+FFFF. Only text holding both kinds can differ.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_HIGH_BMP = re.compile("[\ue000-\uffff]")


def orders_may_differ(text: str) -> bool:
    """Whether sorting ``text``'s lines by code point and by UTF-16 code unit could differ."""
    if text.isascii():
        return False
    return _ASTRAL.search(text) is not None and _HIGH_BMP.search(text) is not None


def order_sensitive(text: str) -> bool:
    """Whether ``text`` holds a character the two orders place differently (see above)."""
    return not text.isascii() and bool(_ASTRAL.search(text) or _HIGH_BMP.search(text))


def _to_surrogates(text: str) -> str:
    # Each character above U+FFFF becomes its two UTF-16 code units (as lone surrogates), so
    # that Python's code point order on the result is UTF-16 code unit order on the original.
    def pair(match: re.Match[str]) -> str:
        offset = ord(match.group()) - 0x10000
        return chr(0xD800 + (offset >> 10)) + chr(0xDC00 + (offset & 0x3FF))

    return _ASTRAL.sub(pair, text)


def _from_surrogates(text: str) -> str:
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


class _Utf16Order(URDNA2015):  # type: ignore[misc]
    """pyld's RDFC-1.0 over surrogate-encoded quads: every sort is in UTF-16 code unit order,
    while everything hashed is the real text, as rdf-canonize computes it."""

    def hash_nquads(self, nquads: list[str]) -> str:
        digest = self.create_hash()
        for nquad in nquads:
            digest.update(_from_surrogates(nquad).encode("utf-8"))
        hexdigest: str = digest.hexdigest()
        return hexdigest

    def get_related_predicate(self, quad: dict[str, Any]) -> str:
        return "<" + _from_surrogates(quad["predicate"]["value"]) + ">"


def canonicalize_utf16_order(document: dict[str, Any]) -> str:
    """The canonical N-Quads rdf-canonize (JavaScript) produces for ``document``.

    RDFC-1.0 with every sort (the quads hashed for blank node labels, the output lines) in
    UTF-16 code unit order, as Digital Bazaar's verifiers and signers compute it. It equals
    :func:`canonicalize` unless :func:`orders_may_differ` on that result.
    """
    with _pyld():
        dataset = jsonld.to_rdf(document, _options(document, produceGeneralizedRdf=False))
    for quads in dataset.values():
        for quad in quads:
            for component in quad.values():
                for key in ("value", "datatype"):
                    if isinstance(component.get(key), str):
                        component[key] = _to_surrogates(component[key])
    result: str = _Utf16Order().main(dataset, {"format": "application/n-quads"})
    return _from_surrogates(result)


def dropped_terms(document: dict[str, Any]) -> list[str]:
    """Paths of every key or type that expansion drops or leaves relative (safe-mode failures).

    Paths are dotted with list indexes (``credentialSubject.achievement.partnerTier``,
    ``credentialSchema[0].type``). An empty list means a safe-mode processor accepts the terms.
    """
    processor = _SafeModeProcessor()
    with _pyld():
        processor.expand(document, _options(document))
    return sorted(set(processor.problems))


def require_safe(
    document: dict[str, Any],
    check: Callable[[dict[str, Any]], list[str]] | None = None,
) -> None:
    """Raise :class:`Invalid` naming every term a safe-mode processor would refuse."""
    problems = (check or dropped_terms)(document)
    if problems:
        raise Invalid(
            "the document uses terms or types its @context does not define: " + ", ".join(problems),
            [
                FieldError(path, "not defined by the document's @context (dropped in JSON-LD)")
                for path in problems
            ],
        )


class _SafeModeProcessor(JsonLdProcessor):  # type: ignore[misc]
    """pyld's expansion, recording where safe mode would fail.

    It hooks pyld's (private) ``_expand_object``, which receives each compact object together
    with the expanded object being built for it; the paths are tracked by object identity.
    """

    def __init__(self) -> None:
        super().__init__(on_property_dropped=self._on_dropped)
        self.problems: list[str] = []
        self._paths: dict[int, str] = {}
        self._stack: list[tuple[str, dict[str, Any]]] = []

    def _on_dropped(self, expanded_property: str | None) -> None:
        path, element = self._stack[-1] if self._stack else ("", {})
        # pyld reports the expanded form; for an undefined term that is the key itself.
        key = expanded_property if expanded_property in element else None
        if key is None:
            key = expanded_property or "?"
        self.problems.append(_join(path, key))

    def _expand_object(
        self,
        active_ctx: Any,
        active_property: Any,
        expanded_active_property: Any,
        element: dict[str, Any],
        expanded_parent: dict[str, Any],
        options: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        path = self._paths.get(id(element), "")
        for key, value in element.items():
            if isinstance(value, dict):
                self._paths[id(value)] = _join(path, key)
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        self._paths[id(item)] = f"{_join(path, key)}[{index}]"
        self._stack.append((path, element))
        try:
            result = super()._expand_object(
                active_ctx,
                active_property,
                expanded_active_property,
                element,
                expanded_parent,
                options,
                *args,
                **kwargs,
            )
        finally:
            self._stack.pop()
        self._check_expanded(path, element, expanded_parent)
        return result

    def _check_expanded(self, path: str, element: dict[str, Any], expanded: dict[str, Any]) -> None:
        types = expanded.get("@type")
        if isinstance(types, str):
            types = [types]
        if isinstance(types, list) and "@value" not in expanded:
            type_key = _key_for(element, ("type", "@type"))
            for value in types:
                if isinstance(value, str) and not _is_absolute(value):
                    self.problems.append(_join(path, type_key))
        node_id = expanded.get("@id")
        if isinstance(node_id, str) and not _is_absolute(node_id):
            self.problems.append(_join(path, _key_for(element, ("id", "@id"))))
        for prop, values in expanded.items():
            if prop.startswith("@"):
                continue
            for value in values if isinstance(values, list) else [values]:
                # Scalar values of "@type": "@id" terms expand to {"@id": …} here, not via
                # _expand_object; node objects were checked on their own.
                if (
                    isinstance(value, dict)
                    and set(value) == {"@id"}
                    and isinstance(value["@id"], str)
                    and not _is_absolute(value["@id"])
                ):
                    self.problems.extend(_scalar_paths(path, element, value["@id"]))


def _is_absolute(iri: str) -> bool:
    return iri.startswith("_:") or (":" in iri and not iri.startswith(":"))


def _key_for(element: dict[str, Any], candidates: tuple[str, ...]) -> str:
    for key in candidates:
        if key in element:
            return key
    return candidates[0]


def _scalar_paths(path: str, element: dict[str, Any], value: str) -> list[str]:
    paths = []
    for key, item in element.items():
        if item == value:
            paths.append(_join(path, key))
        elif isinstance(item, list):
            paths.extend(f"{_join(path, key)}[{i}]" for i, v in enumerate(item) if v == value)
    return paths


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@contextmanager
def _jsonld_errors() -> Iterator[None]:
    """Turn pyld errors into :class:`Invalid`, naming an unknown context when that is the cause."""
    try:
        yield
    except JsonLdError as error:
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, UnknownContextError):
                raise Invalid.field("@context", str(cause)) from error
            cause = cause.__cause__ or cause.__context__
        raise Invalid(f"not valid JSON-LD: {error}") from error
