"""Where a verifier gets the documents a credential points to: keys, controllers, status lists.

JSON-LD contexts never come through here (they are vendored, see :mod:`.jsonld`). A resolver
only hands back JSON objects by URL: ``did:web`` documents (at their https URL), https key and
controller documents, and status-list credentials. :class:`OfflineResolver` serves documents
supplied up front, :class:`HttpResolver` fetches over https with limits and a file cache, and
:class:`ChainResolver` tries several in turn.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urljoin, urlsplit

import httpx

from charter.core import clock

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
"""Largest document fetched; a status list of 16 MiB of random bits compresses to about this."""
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_TTL = timedelta(minutes=5)
DEFAULT_CACHE_ENTRIES = 512
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
"""Bounds of the document cache: anyone may make a public verifier fetch (and keep) documents."""
MAX_REDIRECTS = 3
ACCEPT = (
    "application/did+ld+json, application/vc+ld+json, application/ld+json;q=0.9, "
    "application/json;q=0.8"
)
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ResolveError(Exception):
    """A document could not be obtained (refused URL, network failure, not JSON, too big)."""


@runtime_checkable
class Resolver(Protocol):
    """Fetches JSON documents by URL for a verifier."""

    def fetch_json(self, url: str) -> dict[str, Any]:
        """The JSON object at ``url``; :class:`ResolveError` if it cannot be had."""
        ...


def strip_fragment(url: str) -> str:
    """``url`` without its ``#fragment``."""
    return url.partition("#")[0]


class OfflineResolver:
    """Serves only the documents it was given (URL → document); nothing else exists."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._documents = {url: dict(doc) for url, doc in (documents or {}).items()}

    def fetch_json(self, url: str) -> dict[str, Any]:
        """The supplied document for ``url`` (matched with or without a fragment)."""
        for candidate in (url, strip_fragment(url)):
            if candidate in self._documents:
                copy: dict[str, Any] = json.loads(json.dumps(self._documents[candidate]))
                return copy  # callers may change what they get without changing the source
        raise ResolveError(f"{url} is not available offline (supply it with the credential)")


class ChainResolver:
    """Asks each resolver in order; the first that has the document wins."""

    def __init__(self, *resolvers: Resolver) -> None:
        self._resolvers = resolvers

    def fetch_json(self, url: str) -> dict[str, Any]:
        """The document from the first resolver that can give it."""
        reasons = []
        for resolver in self._resolvers:
            try:
                return resolver.fetch_json(url)
            except ResolveError as error:
                reasons.append(str(error))
        if not reasons:
            raise ResolveError(f"{url}: no resolver configured")
        # The last reason is usually the most telling (the network one, after the local ones).
        raise ResolveError(reasons[-1])


def check_fetchable(url: str) -> None:
    """Refuse URLs a verifier must not fetch: anything but https, except http on loopback."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a bad port raises ValueError here rather than in httpx
    except ValueError as error:
        raise ResolveError(f"{url}: not a valid URL") from error
    if not host:
        raise ResolveError(f"{url}: not an absolute URL")
    if parts.username or parts.password:
        raise ResolveError(f"{url}: URLs carrying credentials are refused")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and host in _LOOPBACK_HOSTS:
        return
    if parts.scheme == "http":
        raise ResolveError(f"{url}: only https is fetched (http only from this machine)")
    raise ResolveError(f"{url}: the {parts.scheme or 'missing'} scheme is not fetched")


class HttpResolver:
    """Fetches documents over https, within size and time limits, caching them as files.

    With ``client=None`` it is offline: it answers from the cache only, however old the copy.
    Online, a cached copy younger than ``ttl`` is used without a request. The cache holds at
    most ``cache_entries`` documents and ``cache_bytes`` bytes; the oldest go first.

    Which addresses may be called is the client's business: a server that verifies badges for
    anyone gives it a :class:`charter.core.outbound.GuardedTransport`.
    """

    def __init__(
        self,
        client: httpx.Client | None,
        cache_dir: Path | None = None,
        ttl: timedelta = DEFAULT_TTL,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache_entries: int = DEFAULT_CACHE_ENTRIES,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self._client = client
        self._cache_dir = cache_dir
        self._ttl = ttl
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._cache_entries = cache_entries
        self._cache_bytes = cache_bytes

    def fetch_json(self, url: str) -> dict[str, Any]:
        """The document at ``url``, from the cache when fresh (or when offline)."""
        url = strip_fragment(url)
        check_fetchable(url)
        cached = self._read_cache(url)
        if self._client is None:
            if cached is None:
                raise ResolveError(f"{url} is not cached and the verifier is offline")
            return cached[1]
        if cached is not None and clock.now() - cached[0] < self._ttl:
            return cached[1]
        document = self._download(self._client, url)
        self._write_cache(url, document)
        return document

    def _download(self, client: httpx.Client, url: str) -> dict[str, Any]:
        target = url
        for _ in range(MAX_REDIRECTS + 1):
            check_fetchable(target)
            try:
                with client.stream(
                    "GET",
                    target,
                    headers={"Accept": ACCEPT},
                    timeout=self._timeout_s,
                    follow_redirects=False,
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        # Followed by hand so every hop passes check_fetchable (no https→http).
                        target = urljoin(target, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise ResolveError(f"{url}: HTTP {response.status_code}")
                    body = self._read_limited(response, url)
            except httpx.HTTPError as error:
                raise ResolveError(f"{url}: {type(error).__name__}: {error}") from error
            return _parse_object(body, url)
        raise ResolveError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _read_limited(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
            raise ResolveError(f"{url}: larger than {self._max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise ResolveError(f"{url}: larger than {self._max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _cache_path(self, url: str) -> Path | None:
        if self._cache_dir is None:
            return None
        return self._cache_dir / (hashlib.sha256(url.encode("utf-8")).hexdigest() + ".json")

    def _read_cache(self, url: str) -> tuple[datetime, dict[str, Any]] | None:
        path = self._cache_path(url)
        if path is None or not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            # The URL is stored too, so a (theoretical) hash collision cannot serve a wrong file.
            if entry.get("url") != url or not isinstance(entry.get("document"), dict):
                return None
            fetched_at = datetime.fromisoformat(entry["fetched_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged cache entry is just a miss
        document: dict[str, Any] = entry["document"]
        return fetched_at, document

    def _write_cache(self, url: str, document: dict[str, Any]) -> None:
        path = self._cache_path(url)
        if path is None:
            return
        entry = {"url": url, "fetched_at": clock.now().isoformat(), "document": document}
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written to a temporary file and renamed, so a concurrent reader never sees half a file.
        fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
            Path(temporary).replace(path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            return
        self._trim_cache(path.parent)

    def _trim_cache(self, directory: Path) -> None:
        """Delete the oldest entries until the cache is within its bounds."""
        entries: list[tuple[float, int, Path]] = []
        try:
            with os.scandir(directory) as found:
                for entry in found:
                    if entry.name.endswith(".json") and entry.is_file():
                        stat = entry.stat()
                        entries.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        except OSError:
            return
        count = len(entries)
        size = sum(item[1] for item in entries)
        if count <= self._cache_entries and size <= self._cache_bytes:
            return
        entries.sort()
        for _, entry_size, entry_path in entries:
            if count <= self._cache_entries and size <= self._cache_bytes:
                break
            try:
                # Another process may have removed it already: that counts as removed.
                entry_path.unlink(missing_ok=True)
            except OSError:
                return
            count -= 1
            size -= entry_size


def _parse_object(body: bytes, url: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ResolveError(f"{url}: not JSON") from error
    if not isinstance(document, dict):
        raise ResolveError(f"{url}: not a JSON object")
    return document
