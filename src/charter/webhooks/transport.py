"""Calling an endpoint: public addresses only, checked at delivery time, short timeouts, and
no redirects followed.

DNS can change between the moment an endpoint is registered and the moment it is called, so
the host is resolved again at delivery time (its addresses are kept for at most
:data:`RESOLVE_TTL_SECONDS`), its addresses are checked on every delivery, and the request
goes to the address that was checked (the URL's host name still goes in ``Host`` and in TLS
SNI, so certificates are verified against the name): a second lookup cannot swap in an
internal address. With ``CHARTER_WEBHOOK_ALLOW_PRIVATE=true`` (tests, local development) any
address is called.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from charter.core.errors import Invalid

MAX_URL_LENGTH = 2000
MAX_ANSWER_READ = 64 * 1024  # bytes of an answer read so its connection can be reused
# A host's addresses are looked up again after this long; they are checked on every delivery.
RESOLVE_TTL_SECONDS = 30.0
_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


class Refused(Exception):
    """The endpoint's address may not be called (not public, or not resolvable)."""


def validate_url(url: str, *, allow_private: bool) -> str:
    """The endpoint URL, or :class:`Invalid` naming ``url``: absolute http(s), no credentials;
    https and no local or private host unless private addresses are allowed."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise Invalid.field("url", f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a bad port raises ValueError here
    except ValueError:
        raise Invalid.field("url", "not a valid URL") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise Invalid.field("url", "must be an absolute http or https URL")
    if parts.username or parts.password:
        raise Invalid.field("url", "must not carry a user name or password")
    if any(ord(char) < 33 for char in url):
        raise Invalid.field("url", "must not contain spaces or control characters")
    if allow_private:
        return url
    if parts.scheme != "https":
        raise Invalid.field("url", "must use https")
    if host.lower() in _LOCAL_NAMES or host.lower().endswith(".localhost"):
        raise Invalid.field("url", "must not point at this machine")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return url
    if not literal.is_global:
        raise Invalid.field("url", "must be a public address")
    return url


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect for a URL: the URL itself, or one pinned to a checked address."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


def resolve(url: str, *, allow_private: bool) -> Target:
    """The target for ``url``: its host resolved and every address checked to be public."""
    if allow_private:
        return Target(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _lookup(host, port)
    if not addresses:
        raise Refused(f"{host} has no address")
    for address in addresses:
        if not ipaddress.ip_address(address).is_global:
            raise Refused(f"{host} resolves to {address}, which is not a public address")
    return pin(url, addresses[0])


_resolved: dict[tuple[str, int], tuple[float, list[str]]] = {}
_resolved_lock = threading.Lock()


def _lookup(host: str, port: int) -> list[str]:
    """The addresses of ``host``, looked up at most once per :data:`RESOLVE_TTL_SECONDS`."""
    now = time.monotonic()
    with _resolved_lock:
        cached = _resolved.get((host, port))
    if cached is not None and now - cached[0] < RESOLVE_TTL_SECONDS:
        return cached[1]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise Refused(f"cannot resolve {host}: {error}") from error
    addresses = [str(info[4][0]).split("%", 1)[0] for info in infos]
    with _resolved_lock:
        if len(_resolved) > 1000:
            _resolved.clear()
        _resolved[(host, port)] = (now, addresses)
    return addresses


def pin(url: str, address: str) -> Target:
    """``url`` with its host replaced by ``address``, keeping the name for Host and SNI."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rpartition("@")[2]
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return Target(pinned, host_header, host if parts.scheme == "https" else None)


def post(
    client: httpx.Client,
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    allow_private: bool,
    timeout: float,
) -> httpx.Response:
    """POST ``body`` to ``url`` (never following a redirect); :class:`Refused` if not allowed."""
    target = resolve(url, allow_private=allow_private)
    sent_headers = dict(headers)
    extensions = {}
    if target.host_header is not None:
        sent_headers["Host"] = target.host_header
    if target.sni_hostname is not None:
        extensions["sni_hostname"] = target.sni_hostname
    # Streamed: only the status matters. A short answer is read to its end so that the
    # connection goes back to the pool for the next delivery; a long one is not read on
    # (closing it drops the connection), so a huge answer costs nothing.
    with client.stream(
        "POST",
        target.url,
        content=body,
        headers=sent_headers,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        extensions=extensions,
    ) as response:
        read = 0
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > MAX_ANSWER_READ:
                break
        return response
