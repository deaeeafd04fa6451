"""The validation rate limiter: exact rates with bursts, bounded memory."""

from __future__ import annotations

from charter.licensing.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_whole_period_then_one_request_an_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(60, period=60.0, timer=clock)
    assert [limiter.acquire("k") for _ in range(60)] == [None] * 60
    assert limiter.acquire("k") == 1
    clock.now += 1.0
    assert limiter.acquire("k") is None
    assert limiter.acquire("k") == 1


def test_names_are_counted_apart() -> None:
    clock = Clock()
    limiter = RateLimiter(2, period=60.0, timer=clock)
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 30
    assert limiter.acquire("b") is None


def test_the_wait_is_the_time_until_a_request_is_allowed_again() -> None:
    clock = Clock()
    limiter = RateLimiter(2, period=60.0, timer=clock)
    limiter.acquire("a")
    limiter.acquire("a")
    wait = limiter.acquire("a")
    assert wait == 30
    clock.now += wait - 1
    assert limiter.acquire("a") == 1
    clock.now += 1
    assert limiter.acquire("a") is None


def test_memory_is_bounded_and_the_least_recently_used_name_goes_first() -> None:
    clock = Clock()
    limiter = RateLimiter(1, period=60.0, max_names=3, timer=clock)
    for name in ("a", "b", "c"):
        assert limiter.acquire(name) is None
    assert limiter.acquire("a") == 60  # refused, and now the most recently used
    assert limiter.acquire("d") is None  # "b" is forgotten to make room
    assert len(limiter) == 3
    assert limiter.acquire("b") is None
    assert limiter.acquire("a") == 60
