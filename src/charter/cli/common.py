"""What every command shares: consoles, the database session, progress bars, error output."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.accounts.models import User
from charter.config import get_settings
from charter.core.auth import Principal
from charter.core.csvimport import describe
from charter.core.errors import FieldError, Invalid, Unauthorized
from charter.db.engine import make_engine, make_sessionmaker

# Commands that only read act as the system: whoever can run them on the server already holds
# the data. Commands that change anything act as their operator (see :func:`operator`).
ACTOR = Principal.system("cli")

OPERATOR_ENV = "CHARTER_OPERATOR"
"""The environment variable naming the operator, as ``--as`` does."""
_UNSET = "\0unset"
_operator: ContextVar[str | None] = ContextVar("charter_operator", default=_UNSET)


def remember_operator(email: str | None) -> None:
    """Keep the operator named by ``--as`` (or ``CHARTER_OPERATOR``) for this run's command."""
    _operator.set(email)


def operator_email() -> str | None:
    """The operator's email address as given, if any."""
    given = _operator.get()
    if given == _UNSET:
        given = os.environ.get(OPERATOR_ENV)
    return given.strip() or None if given else None


def operator(db: Session) -> Principal:
    """The user a command that changes something acts as: ``--as EMAIL`` or ``CHARTER_OPERATOR``.

    Its events name that user, and the services check that user's permissions, as they do for
    the API: running the command on the server does not make someone an administrator.
    """
    email = operator_email()
    if email is None:
        raise Unauthorized(
            f"say who makes this change: charter --as EMAIL ..., or set {OPERATOR_ENV}"
        )
    user = db.scalar(select(User).where(User.email == email.lower()))
    if user is None or user.disabled_at is not None:
        raise Unauthorized(f"no active user {email} to act as")
    return accounts.principal_for(user)


Model = TypeVar("Model", bound=BaseModel)


def checked(model: type[Model], given: dict[str, Any]) -> Model:
    """Options checked by the API's own input model, before anything is read or written:
    :class:`Invalid` naming the first field at fault otherwise (one line, exit 1)."""
    try:
        return model.model_validate(given)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first.get("loc", ()))
        raise Invalid(describe(error), [FieldError(field, str(first.get("msg", "")))]) from None


def console() -> Console:
    """Standard output (made per call so that test runners capturing stdout see it)."""
    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal:
        # Piped or captured output has no width of its own: keep tables on one line per row.
        out.width = max(out.width, 160)
    return out


def error_console() -> Console:
    """Standard error, for errors and progress bars."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work on the configured database: committed on success, else rolled back."""
    engine = make_engine(get_settings().database_url)
    try:
        factory = make_sessionmaker(engine)
        with factory() as session, session.begin():
            yield session
    finally:
        engine.dispose()


class RichProgress:
    """A Rich progress bar on standard error, one task per phase; silent when not a terminal."""

    def __init__(self) -> None:
        err = error_console()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not err.is_terminal,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def phase(self, description: str, total: int) -> None:
        """Finish the current bar and start one for the next phase."""
        if self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._task, completed=task.total)
        self._task = self._progress.add_task(description, total=max(total, 1))

    def advance(self, count: int) -> None:
        """Move the current bar on."""
        if self._task is not None:
            self._progress.advance(self._task, count)
