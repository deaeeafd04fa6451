"""The one guard for outbound requests: which addresses are public, and connecting to the one
that was checked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from charter.core import outbound


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "0.0.0.0",
        "224.0.0.1",  # multicast, which Python calls global
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fec0::1",  # site-local
        "ff02::1",  # multicast, which Python calls global
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "::8.8.8.8",  # IPv4-compatible, deprecated: never a public server
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::808:808",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",  # documentation
        "fe80::1%eth0",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    reason = outbound.refusal(address)
    assert reason is not None
    assert "not a public address" in reason
    assert not outbound.is_public(address)


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700::1111",
        "::ffff:8.8.8.8",  # IPv4-mapped public address
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8: how IPv6-only hosts reach IPv4
        "2002:808:808::1",  # 6to4 of 8.8.8.8
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert outbound.refusal(address) is None


def _table(table: dict[str, list[str]]) -> outbound.Lookup:
    def lookup(host: str, port: int) -> list[str]:
        return table[host]

    return lookup


def test_a_host_with_any_non_public_address_is_refused() -> None:
    lookup = _table(
        {
            "mixed.example": ["93.184.216.34", "64:ff9b::7f00:1"],
            "public.example": ["93.184.216.34", "2606:4700::1111"],
            "nothing.example": [],
        }
    )
    with pytest.raises(outbound.Refused, match=r"resolves to 64:ff9b::7f00:1, which carries"):
        outbound.public_addresses("mixed.example", 443, lookup=lookup)
    with pytest.raises(outbound.Refused, match="no address"):
        outbound.public_addresses("nothing.example", 443, lookup=lookup)
    with pytest.raises(outbound.Refused, match="not a public address"):
        outbound.public_addresses("api.localhost", 443, lookup=lookup)
    assert outbound.public_addresses("public.example", 443, lookup=lookup) == [
        "93.184.216.34",
        "2606:4700::1111",
    ]


def test_resolve_pins_the_checked_address_and_keeps_the_name() -> None:
    lookup = _table({"keys.example": ["2606:4700::1111"]})
    target = outbound.resolve("https://keys.example:8443/did.json?x=1", lookup=lookup)
    assert target.url == "https://[2606:4700::1111]:8443/did.json?x=1"
    assert target.host_header == "keys.example:8443"
    assert target.sni_hostname == "keys.example"
    assert outbound.resolve("https://keys.example/x", allow_private=True, lookup=lookup) == (
        outbound.Target("https://keys.example/x")
    )


def _recording_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    # Stands in for the network only: no public server can run inside the tests.
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handler)


def test_the_transport_connects_to_the_address_it_checked_even_if_dns_changes() -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["93.184.216.35"]])
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    seen: list[httpx.Request] = []
    transport = outbound.GuardedTransport(
        lookup=rebinding, make_transport=lambda: _recording_transport(seen)
    )
    with httpx.Client(transport=transport, trust_env=False) as client:
        assert client.get("https://keys.example/did.json").status_code == 200
        with pytest.raises(outbound.Refused, match=r"resolves to 127\.0\.0\.1"):
            client.get("https://keys.example/did.json")
        client.get("https://keys.example/did.json")
    assert lookups == ["keys.example"] * 3  # once per request, by the guard alone
    assert [str(request.url) for request in seen] == [
        "https://93.184.216.34/did.json",
        "https://93.184.216.35/did.json",
    ]
    assert {request.headers["host"] for request in seen} == {"keys.example"}
    assert {request.extensions["sni_hostname"] for request in seen} == {"keys.example"}


def test_the_transport_refuses_private_literals_without_a_lookup() -> None:
    def no_lookup(host: str, port: int) -> list[str]:
        raise AssertionError("an address literal was looked up")

    seen: list[httpx.Request] = []
    transport = outbound.GuardedTransport(
        lookup=no_lookup, make_transport=lambda: _recording_transport(seen)
    )
    with httpx.Client(transport=transport, trust_env=False) as client:
        for url in (
            "https://[::127.0.0.1]/x",
            "https://[64:ff9b::7f00:1]/x",
            "https://[::ffff:169.254.169.254]/x",
            "http://127.0.0.1:9/x",
        ):
            with pytest.raises(outbound.Refused, match="not a public address"):
                client.get(url)
    assert seen == []


def test_connections_are_pooled_per_host_name_never_across_names() -> None:
    made: list[list[httpx.Request]] = []

    def make() -> httpx.BaseTransport:
        made.append([])
        return _recording_transport(made[-1])

    lookup = _table({"a.example": ["93.184.216.34"], "b.example": ["93.184.216.34"]})
    transport = outbound.GuardedTransport(lookup=lookup, make_transport=make, max_pooled_hosts=1)
    with httpx.Client(transport=transport, trust_env=False) as client:
        client.get("https://a.example/1")
        client.get("https://a.example/2")
        client.get("https://b.example/1")  # same address, other name: not a.example's pool
        client.get("https://b.example/2")
    assert [[request.headers["host"] for request in pool] for pool in made] == [
        ["a.example", "a.example"],
        ["b.example"],
        ["b.example"],
    ]


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A real HTTP server on loopback that records each request's headers."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({name.lower(): value for name, value in self.headers.items()})
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_a_real_loopback_server_is_refused_unless_private_addresses_are_allowed(
    local_server: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = local_server
    with outbound.guarded_client() as strict, pytest.raises(outbound.Refused):
        strict.get(url + "/x")
    assert seen == []
    with outbound.guarded_client(allow_private=True) as relaxed:
        assert relaxed.get(url + "/x").json() == {}
    assert seen[0]["host"] == url.removeprefix("http://")
