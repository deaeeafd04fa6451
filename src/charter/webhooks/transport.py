"""Calling an endpoint: public addresses only, checked at delivery time, short timeouts, and
no redirects followed.

The address rules are :mod:`charter.core.outbound`'s, the same as for every request Charter
makes. DNS can change between the moment an endpoint is registered and the moment it is
called, so the host is resolved again at delivery time (its addresses are kept for at most
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
from urllib.parse import urlsplit

import httpx

from charter.core import outbound
from charter.core.errors import Invalid
from charter.core.outbound import Refused, Target, pin

__all__ = ["Refused", "Target", "pin", "post", "resolve", "validate_url"]

MAX_URL_LENGTH = 2000
MAX_ANSWER_READ = 64 * 1024  # bytes of an answer read so its connection can be reused
# A host's addresses are looked up again after this long; they are checked on every delivery.
RESOLVE_TTL_SECONDS = 30.0


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
    if outbound.is_local_name(host):
        raise Invalid.field("url", "must not point at this machine")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return url  # a name: its addresses are checked at every delivery
    if not outbound.is_public(host):
        raise Invalid.field("url", "must be a public address")
    return url


def resolve(url: str, *, allow_private: bool) -> Target:
    """The target for ``url``: its host resolved and every address checked to be public."""
    return outbound.resolve(url, allow_private=allow_private, lookup=_lookup)


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
