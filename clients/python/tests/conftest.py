"""Fixtures of the client's tests: a hand-built server (``handmade``) and a client of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from charter_client import LicenseClient
from handmade import BASE_URL, KEY, PRODUCT, START, Clock, Server, SigningKey


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def server(clock: Clock) -> Server:
    key = SigningKey()
    return Server(clock=clock, keys=[key], signer=key)


@pytest.fixture
def make_client(server: Server, clock: Clock, tmp_path: Any) -> Callable[..., LicenseClient]:
    def make(**overrides: Any) -> LicenseClient:
        options: dict[str, Any] = {
            "fingerprint": "machine-1",
            "cache_dir": tmp_path / "cache",
            "grace": timedelta(days=3),
            "transport": httpx.MockTransport(server.handle),
            "clock": clock,
        }
        options.update(overrides)
        return LicenseClient(BASE_URL, KEY, PRODUCT, **options)

    return make
