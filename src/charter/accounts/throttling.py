"""Sign-in throttling: failed attempts counted per account and per client address.

The counts live in the database (``sign_in_throttles``), so every worker process and every
server over one database sees the same ones. Past a threshold, each further failure makes the
next attempt wait twice as long as the one before, up to a cap: a guesser gets a handful of
tries an hour, while the real user, at worst, waits the cap. An attempt that must wait is
refused before its password is checked, so refusals cost no password hashing either.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from charter.accounts.models import SignInThrottle
from charter.config import Settings
from charter.core.errors import TooManyAttempts
from charter.core.ids import new_id

PRUNED_AT_ONCE = 100
"""Forgotten rows deleted by each failure, so that the table stays as small as the attacks."""


class Scope(StrEnum):
    """What a count of failures is about."""

    ACCOUNT = "account"
    ADDRESS = "address"
    # Requests for a holder's one-time sign-in link: every request counts, not only failures.
    LINK_EMAIL = "link_email"
    LINK_CLIENT = "link_client"


@dataclass(frozen=True, slots=True)
class Policy:
    """How many failures are let through, and how long the waits after them are."""

    failures: int
    window: timedelta
    first_wait: timedelta
    max_wait: timedelta

    @classmethod
    def of(cls, settings: Settings, scope: Scope) -> Policy:
        """The policy ``settings`` set for ``scope``."""
        if scope in LINK_POLICIES:
            return LINK_POLICIES[scope]
        failures = (
            settings.sign_in_account_failures
            if scope is Scope.ACCOUNT
            else settings.sign_in_address_failures
        )
        return cls(
            failures=failures,
            window=timedelta(seconds=settings.sign_in_window_seconds),
            first_wait=timedelta(seconds=settings.sign_in_first_wait_seconds),
            max_wait=timedelta(seconds=settings.sign_in_max_wait_seconds),
        )

    def wait_after(self, failures: int) -> timedelta:
        """How long the next attempt waits after ``failures`` failures in a row."""
        if failures < self.failures:
            return timedelta(0)
        doublings = min(failures - self.failures, 30)  # past the cap long before 2**30
        wait: timedelta = self.first_wait * (1 << doublings)
        return min(wait, self.max_wait)


LINK_POLICIES = {
    # A few links an hour to one address is plenty for its owner, and keeps anyone from
    # filling a stranger's inbox; a client asking for many addresses is looking for accounts.
    Scope.LINK_EMAIL: Policy(
        failures=3,
        window=timedelta(hours=1),
        first_wait=timedelta(minutes=1),
        max_wait=timedelta(minutes=15),
    ),
    Scope.LINK_CLIENT: Policy(
        failures=20,
        window=timedelta(hours=1),
        first_wait=timedelta(minutes=1),
        max_wait=timedelta(minutes=15),
    ),
}
"""Link requests are limited by code, not settings: they need no tuning per deployment."""


@dataclass(frozen=True, slots=True)
class Counter:
    """One thing failures are counted for: an account (by email) or a client address."""

    scope: Scope
    value: str

    @property
    def key(self) -> str:
        """The stored key: a hash, so the table keeps no address or email."""
        return hashlib.sha256(f"{self.scope.value}:{self.value}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure counted against ``counter``; ``crossed`` when it reached the threshold."""

    counter: Counter
    failures: int
    wait: timedelta
    crossed: bool


def seconds(wait: timedelta) -> int:
    """A wait as the whole seconds of ``Retry-After`` (never 0)."""
    return max(1, math.ceil(wait.total_seconds()))


def check(db: Session, counters: list[Counter], *, now: datetime) -> None:
    """Raise :class:`TooManyAttempts` if any counter still makes attempts wait.

    The counters' rows stay locked until the transaction ends, so that concurrent attempts
    against one account or from one address are counted one after the other.
    """
    keys = sorted(counter.key for counter in counters)
    rows = db.scalars(
        select(SignInThrottle)
        .where(SignInThrottle.key.in_(keys))
        .order_by(SignInThrottle.key)
        .with_for_update()
    )
    waits = [
        row.blocked_until - now for row in rows if row.blocked_until and row.blocked_until > now
    ]
    if waits:
        retry_after = seconds(max(waits))
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {retry_after} seconds",
            retry_after=retry_after,
        )


def record_failures(
    db: Session, settings: Settings, counters: list[Counter], *, now: datetime
) -> list[Failure]:
    """Count a failed attempt against each counter; says which reached their threshold."""
    stale = (
        select(SignInThrottle.id)
        .where(SignInThrottle.forget_at < now)
        .limit(PRUNED_AT_ONCE)
        .with_for_update(skip_locked=True)
    )
    db.execute(delete(SignInThrottle).where(SignInThrottle.id.in_(stale.scalar_subquery())))
    by_key = {counter.key: counter for counter in counters}
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    for key in sorted(by_key):  # one order everywhere: two attempts never wait on each other
        values = {
            "id": new_id("thr"),
            "key": key,
            "scope": by_key[key].scope.value,
            "failures": 0,
            "last_failure_at": now,
            "blocked_until": None,
            "forget_at": now,
        }
        db.execute(insert(SignInThrottle).values(values).on_conflict_do_nothing())
    rows = db.scalars(
        select(SignInThrottle)
        .where(SignInThrottle.key.in_(sorted(by_key)))
        .order_by(SignInThrottle.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    failures = []
    for row in rows:
        counter = by_key[row.key]
        policy = Policy.of(settings, counter.scope)
        if row.forget_at <= now:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        wait = policy.wait_after(row.failures)
        row.blocked_until = now + wait if wait else None
        row.forget_at = now + wait + policy.window
        failures.append(Failure(counter, row.failures, wait, row.failures == policy.failures))
    db.flush()
    return failures


def forget(db: Session, counter: Counter) -> None:
    """Forget the failures counted against ``counter`` (its account signed in)."""
    db.execute(delete(SignInThrottle).where(SignInThrottle.key == counter.key))
