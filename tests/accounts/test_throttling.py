"""The sign-in throttle's waits: none below the threshold, then doubling up to the cap."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from charter.accounts.throttling import Counter, Policy, Scope

POLICY = Policy(
    failures=5,
    window=timedelta(minutes=15),
    first_wait=timedelta(seconds=2),
    max_wait=timedelta(minutes=5),
)


def test_waits_start_at_the_threshold_and_double():
    waits = [POLICY.wait_after(n).total_seconds() for n in range(1, 13)]
    assert waits == [0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256]
    assert POLICY.wait_after(13) == timedelta(minutes=5)


@given(st.integers(min_value=0, max_value=10**9))
def test_the_wait_never_passes_the_cap(failures):
    assert timedelta(0) <= POLICY.wait_after(failures) <= POLICY.max_wait


def test_counters_keep_no_address_or_email():
    account = Counter(Scope.ACCOUNT, "pat@example.com")
    address = Counter(Scope.ADDRESS, "pat@example.com")
    assert "pat" not in account.key
    assert account.key != address.key


def test_too_many_attempts_is_a_documented_problem_type(client):
    described = client.get("/problems/too-many-attempts").json()
    assert described["status"] == 429
