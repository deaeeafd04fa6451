"""Requests Charter makes to other servers: public addresses only, and only the address checked.

A webhook endpoint, a ``did:web`` document or a status list is named by whoever registers the
endpoint or issues the credential, so a URL must not steer Charter into its own network
(cloud metadata, databases, admin ports). Every outbound request goes through this one guard:

- :func:`refusal` decides whether an address is public. It unwraps the IPv6 forms that carry
  an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``)
  and judges the IPv4 address inside; it refuses outright the forms no public server is
  reached by (IPv4-compatible ``::a.b.c.d``, local-use NAT64 ``64:ff9b:1::/48``, Teredo).
- :func:`resolve` looks the host up once, checks every address, and pins the URL to the first
  one: the request goes to the address that was checked, with the host name kept in ``Host``
  and in TLS SNI (so the certificate is still verified against the name). A second lookup by
  the HTTP library, which a DNS server could answer differently, never happens.
- :class:`GuardedTransport` does both for every request of an ``httpx.Client``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

Lookup = Callable[[str, int], list[str]]
"""``(host, port)`` → the host's addresses (``socket.getaddrinfo`` by default)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
# Host names that mean this machine whatever DNS says.
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
# Hosts that keep a connection pool of their own (see GuardedTransport); beyond these, a
# request gets a connection of its own, closed with its response.
MAX_POOLED_HOSTS = 64


class Refused(httpx.TransportError):
    """The request may not be sent: its host is not public, or cannot be resolved."""


def refusal(address: str) -> str | None:
    """Why ``address`` (an IP address literal) may not be called, or ``None`` if it is public.

    The reason reads after the address: ``f"{address} {reason}"``.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return "is a local-use NAT64 address, not a public address"
        if ip.teredo is not None:
            return "is a Teredo address, not a public address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            if _non_public(embedded):
                return f"carries {embedded}, which is not a public address"
            return None
        if ip in _IPV4_COMPATIBLE:
            return "is an IPv4-compatible address, not a public address"
    if _non_public(ip):
        return "is not a public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _non_public(ip: IPAddress) -> bool:
    # is_global alone is not enough: it calls multicast addresses global, and its tables
    # have changed between Python releases.
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED)
    )


def is_public(address: str) -> bool:
    """Whether ``address`` (an IP address literal) is one Charter may call."""
    return refusal(address) is None


def is_local_name(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` and its subdomains)."""
    host = host.lower().rstrip(".")
    return host in _LOCAL_NAMES or host.endswith(".localhost")


def lookup(host: str, port: int) -> list[str]:
    """The addresses of ``host`` from the system resolver; :class:`Refused` if it has none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise Refused(f"cannot resolve {host}: {error}") from error
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def public_addresses(host: str, port: int, *, lookup: Lookup = lookup) -> list[str]:
    """The addresses of ``host``, every one checked to be public; :class:`Refused` otherwise.

    One non-public address is enough to refuse the host: which address a client would try
    first is not ours to choose.
    """
    bare = host.strip("[]")
    if is_local_name(bare):
        raise Refused(f"{host} is this machine, not a public address")
    try:
        ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        addresses = lookup(bare, port)
    else:
        addresses = [bare]
    if not addresses:
        raise Refused(f"{host} has no address")
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            if address == bare:
                raise Refused(f"{host} {reason}")
            raise Refused(f"{host} resolves to {address}, which {reason}")
    return addresses


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect for a URL: the URL itself, or one pinned to a checked address."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


def pin(url: str, address: str) -> Target:
    """``url`` with its host replaced by ``address``, keeping the name for Host and SNI."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rpartition("@")[2]
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return Target(pinned, host_header, host if parts.scheme == "https" else None)


def resolve(url: str, *, allow_private: bool = False, lookup: Lookup = lookup) -> Target:
    """The target for ``url``: its host resolved once, every address checked, the first pinned.

    With ``allow_private`` (tests, local development) the URL is used as it is.
    """
    if allow_private:
        return Target(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = public_addresses(host, port, lookup=lookup)
    return pin(url, addresses[0])


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport that sends each request only to a checked, public address.

    The host is resolved once per request, every address is checked with :func:`refusal`, and
    the connection is made to the first one, with the name in ``Host`` and SNI. Connections
    are pooled per host name, never across names: a connection whose certificate was checked
    for one name is not reused for another name that resolves to the same address.

    Give the client ``trust_env=False``: a proxy taken from the environment would resolve the
    host itself, behind this check.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        lookup: Lookup = lookup,
        max_pooled_hosts: int = MAX_POOLED_HOSTS,
        make_transport: Callable[[], httpx.BaseTransport] = httpx.HTTPTransport,
    ) -> None:
        self._allow_private = allow_private
        self._lookup = lookup
        self._max_pooled_hosts = max_pooled_hosts
        self._make_transport = make_transport
        self._pools: OrderedDict[str, httpx.BaseTransport] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to a checked address of its host; :class:`Refused` if there is none."""
        host = request.url.raw_host.decode("ascii")
        if not self._allow_private:
            port = request.url.port or (443 if request.url.scheme == "https" else 80)
            try:
                address = public_addresses(host, port, lookup=self._lookup)[0]
            except Refused as error:
                raise Refused(str(error), request=request) from error
            # The Host header was set from the name when the request was built; it stays.
            request.url = request.url.copy_with(host=address)
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        pooled = self._pool_for(host)
        if pooled is not None:
            return pooled.handle_request(request)
        own = self._make_transport()
        try:
            response = own.handle_request(request)
        except BaseException:
            own.close()
            raise
        response.stream = _ClosingStream(response.stream, own)
        return response

    def _pool_for(self, host: str) -> httpx.BaseTransport | None:
        with self._lock:
            if self._closed:
                raise Refused("the transport is closed")
            pool = self._pools.get(host)
            if pool is None and len(self._pools) < self._max_pooled_hosts:
                pool = self._pools[host] = self._make_transport()
            return pool

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()


class _ClosingStream(httpx.SyncByteStream):
    """A response body that closes its one-request transport once the body is closed."""

    def __init__(
        self, stream: httpx.SyncByteStream | httpx.AsyncByteStream, owner: httpx.BaseTransport
    ) -> None:
        self._stream = stream
        self._owner = owner

    def __iter__(self) -> Iterator[bytes]:
        assert isinstance(self._stream, httpx.SyncByteStream)
        yield from self._stream

    def close(self) -> None:
        try:
            if isinstance(self._stream, httpx.SyncByteStream):
                self._stream.close()
        finally:
            self._owner.close()


def guarded_client(*, allow_private: bool = False, timeout: float = 10.0) -> httpx.Client:
    """An ``httpx.Client`` whose every request goes through :class:`GuardedTransport`.

    It follows no redirects (a caller that follows one sends a new request, checked again) and
    takes no proxy from the environment.
    """
    return httpx.Client(
        transport=GuardedTransport(allow_private=allow_private),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
