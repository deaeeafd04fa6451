"""Factories for test data, built through the services so tests exercise the real rules."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from charter.accounts import service as accounts
from charter.accounts.models import User
from charter.core.auth import Principal, Role

_counter = itertools.count(1)
T = TypeVar("T")


@dataclass
class Login:
    """A user with an API key, ready to call the API."""

    user: User
    token: str
    principal: Principal

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization`` header for the API."""
        return {"Authorization": f"Bearer {self.token}"}


class Factory:
    """Builds users and keys; domains add their own factories beside their tests."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.system = Principal.system("factory")

    def login(
        self, role: Role, *, partner_id: str | None = None, scopes: list[str] | None = None
    ) -> Login:
        """A user of ``role`` (of firm ``partner_id`` for partner roles) with an API key."""
        n = next(_counter)
        with self.sessions() as db, db.begin():
            user = accounts.create_user(
                db,
                self.system,
                email=f"{role.value}.{n}@example.com",
                display_name=f"{role.value.replace('_', ' ').title()} {n}",
                role=role,
                password=f"correct horse battery {n}",
                partner_id=partner_id,
            )
            key, token = accounts.create_api_key(
                db, self.system, user_id=user.id, name="tests", scopes=scopes
            )
            principal = accounts.principal_for(user, api_key=key)
        return Login(user, token, principal)


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` returns to its end, in a thread with an event loop of its own.

    A test process may already be running a loop in its main thread (the browser tests' driver
    leaves one), where ``asyncio.run`` refuses to start.
    """
    results: list[T] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            results.append(asyncio.run(make()))
        except BaseException as error:  # handed to the caller below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]
    return results[0]
