"""Sign-in throttling: repeated failures make the next attempts wait, per account and address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from charter.accounts.models import SignInThrottle, User
from charter.config import Settings
from charter.core.auth import Role
from charter.core.models import Event
from tests.web.helpers import sign_in, web_user

ACCOUNT_FAILURES = 3
ADDRESS_FAILURES = 6


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small thresholds, so a test reaches them in a few attempts."""
    return settings.model_copy(
        update={
            "sign_in_account_failures": ACCOUNT_FAILURES,
            "sign_in_address_failures": ADDRESS_FAILURES,
            "sign_in_window_seconds": 900.0,
            "sign_in_first_wait_seconds": 2.0,
            "sign_in_max_wait_seconds": 60.0,
        }
    )


def _browser(app, address: str = "203.0.113.7") -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


def _throttled_events(sessions) -> list[Event]:
    with sessions() as db:
        return list(db.scalars(select(Event).where(Event.type == "sign_in.throttled")))


def test_an_account_with_repeated_failures_must_wait_and_the_password_is_not_checked(
    app, sessions, frozen_clock
):
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    browser = _browser(app)
    for _ in range(ACCOUNT_FAILURES):
        assert sign_in(browser, user.email, "a wrong guess at it").status_code == 401

    refused = sign_in(browser, user.email, user.password)

    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert "Too many failed sign-ins. Wait 2 seconds, then try again." in refused.text
    assert "<form" in refused.text
    with sessions() as db:
        assert db.get(User, user.id).last_login_at is None

    frozen_clock.advance(timedelta(seconds=2))
    assert sign_in(browser, user.email, user.password).status_code == 303
    # Signing in forgot the account's failures: the next wrong password is just wrong.
    other = _browser(app, "198.51.100.9")
    assert sign_in(other, user.email, "a wrong guess at it").status_code == 401
    assert sign_in(other, user.email, user.password).status_code == 303


def test_each_further_failure_doubles_the_wait_up_to_the_cap(app, sessions, frozen_clock):
    user = web_user(sessions, Role.AUDITOR)
    waits = []
    for n in range(ACCOUNT_FAILURES + 6):
        browser = _browser(app, f"192.0.2.{n}")  # a new address each time: the account counts
        assert sign_in(browser, user.email, "a wrong guess at it").status_code == 401
        if n + 1 < ACCOUNT_FAILURES:
            continue
        refused = sign_in(browser, user.email, "a wrong guess at it")  # refused unchecked
        assert refused.status_code == 429
        wait = int(refused.headers["retry-after"])
        waits.append(wait)
        frozen_clock.advance(timedelta(seconds=wait))
    assert waits == [2, 4, 8, 16, 32, 60, 60]
    # The cap keeps the real user's wait short, however long the guessing went on.
    assert sign_in(_browser(app), user.email, user.password).status_code == 303


def test_failures_are_forgotten_a_window_after_the_last_one(app, sessions, frozen_clock):
    user = web_user(sessions, Role.AUDITOR)
    browser = _browser(app)
    for _ in range(ACCOUNT_FAILURES - 1):
        assert sign_in(browser, user.email, "a wrong guess at it").status_code == 401
    frozen_clock.advance(timedelta(seconds=901))
    for _ in range(ACCOUNT_FAILURES - 1):
        assert sign_in(browser, user.email, "a wrong guess at it").status_code == 401
    assert sign_in(browser, user.email, user.password).status_code == 303


def test_one_address_guessing_many_accounts_must_wait(app, sessions, frozen_clock):
    users = [web_user(sessions, Role.AUDITOR) for _ in range(ADDRESS_FAILURES)]
    guesser = _browser(app, "203.0.113.66")
    for user in users:
        assert sign_in(guesser, user.email, "a wrong guess at it").status_code == 401
    target = web_user(sessions, Role.AUDITOR)

    refused = sign_in(guesser, target.email, target.password)

    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    # Someone else, elsewhere, signs in as usual.
    assert sign_in(_browser(app, "198.51.100.1"), target.email, target.password).status_code == 303


def test_unknown_accounts_are_throttled_alike(app, sessions, frozen_clock):
    browser = _browser(app)
    for _ in range(ACCOUNT_FAILURES):
        assert sign_in(browser, "nobody@example.com", "a wrong guess at it").status_code == 401
    refused = sign_in(_browser(app, "198.51.100.2"), "nobody@example.com", "anything at all")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"


def test_crossing_the_threshold_is_one_event_not_one_per_failure(app, sessions, frozen_clock):
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    for n in range(ACCOUNT_FAILURES + 2):
        browser = _browser(app, f"192.0.2.{n}")
        assert sign_in(browser, user.email, "a wrong guess at it").status_code == 401
        frozen_clock.advance(timedelta(minutes=1))

    [event] = _throttled_events(sessions)

    assert event.subject_type == "user"
    assert event.subject_id == user.id
    assert event.payload["scope"] == "account"
    assert event.payload["failures"] == ACCOUNT_FAILURES
    assert "a wrong guess" not in str(event.payload)


def test_an_address_crossing_the_threshold_is_recorded_with_the_address(
    app, sessions, frozen_clock
):
    guesser = _browser(app, "203.0.113.99")
    for n in range(ADDRESS_FAILURES + 2):
        email = f"someone.{n}@example.com"
        assert sign_in(guesser, email, "a wrong guess at it").status_code == 401
        frozen_clock.advance(timedelta(minutes=1))  # past every wait so far

    [event] = _throttled_events(sessions)

    assert event.subject_type == "sign_in_throttle"
    assert event.payload == {
        "scope": "address",
        "address": "203.0.113.99",
        "failures": ADDRESS_FAILURES,
        "retry_after_seconds": 2,
    }
    with sessions() as db:
        keys = list(db.scalars(select(SignInThrottle.key)))
    assert all("203.0.113.99" not in key and "@" not in key for key in keys)
