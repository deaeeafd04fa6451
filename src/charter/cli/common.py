"""What every command shares: consoles, the database session, progress bars, error output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

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
from sqlalchemy.orm import Session

from charter.config import get_settings
from charter.core.auth import Principal
from charter.db.engine import make_engine, make_sessionmaker

# The CLI acts as the system itself: whoever can run it on the server already holds the data.
ACTOR = Principal.system("cli")


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
