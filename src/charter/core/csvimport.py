"""The shared machinery of CSV imports: read, check every row, then write in bulk.

An import is all-or-nothing: every row is checked before anything is written, and if any row
is bad the whole file is refused with every bad row named by its line number. Rows are keyed by
``external_id``, so importing the same file again creates nothing new (those rows are reported
as skipped, or as updated where an import updates what changed). Writing goes through
SQLAlchemy Core in batches: tens of thousands of rows are written in seconds, with one event
per created row and one ``import.completed`` event.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Table, insert, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import FieldError, Forbidden, Invalid
from charter.core.ids import is_id, new_id

BATCH_SIZE = 5000
# Lookups by a list of keys go in chunks: SQLite caps the number of bound parameters.
LOOKUP_CHUNK = 900
MAX_LISTED_ERRORS = 1000
LIST_SEPARATOR = ";"
# Checking reports progress once per this many rows: a call per row would slow the hot loop.
PROGRESS_STEP = 1000

T = TypeVar("T")


class Progress(Protocol):
    """Where an import reports how far it is (the CLI draws a progress bar)."""

    def phase(self, description: str, total: int) -> None:
        """A new phase of ``total`` steps starts."""
        ...

    def advance(self, count: int) -> None:
        """``count`` more steps of the current phase are done."""
        ...


class NoProgress:
    """Reports nowhere."""

    def phase(self, description: str, total: int) -> None:
        """Ignore the phase."""

    def advance(self, count: int) -> None:
        """Ignore the step."""


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: its line number in the file and its values by column name."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class Columns:
    """The columns an import expects."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        """Required then optional columns."""
        return self.required + self.optional


class RowErrors:
    """Every problem found in a file, by line; raised at once as one :class:`Invalid`."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self._items: list[tuple[int, str]] = []
        self._lines: set[int] = set()

    def add(self, line: int, detail: str) -> None:
        """Record that ``line`` is bad because of ``detail``."""
        self._items.append((line, detail))
        self._lines.add(line)

    def has(self, line: int) -> bool:
        """Whether ``line`` already has an error (later checks may skip it)."""
        return line in self._lines

    def __len__(self) -> int:
        return len(self._lines)

    def raise_if_any(self, total_rows: int) -> None:
        """Raise :class:`Invalid` listing every bad row, if there is one."""
        if not self._items:
            return
        items = sorted(self._items, key=lambda item: item[0])
        listed = [FieldError(f"line {line}", detail) for line, detail in items[:MAX_LISTED_ERRORS]]
        bad = len(self._lines)
        summary = (
            f"{self.file_name}: {bad} of {total_rows} row{'s' if total_rows != 1 else ''} "
            f"{'is' if bad == 1 else 'are'} invalid; nothing was imported"
        )
        if len(items) > MAX_LISTED_ERRORS:
            summary += f" (the first {MAX_LISTED_ERRORS} problems are listed)"
        raise Invalid(summary, listed)


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A parsed CSV file; rows that could not be parsed are already in ``errors``."""

    name: str
    sha256: str
    columns: tuple[str, ...]
    rows: list[CsvRow]
    errors: RowErrors
    # Data rows in the file, including those that could not be parsed.
    total: int


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise Invalid(
            f"{name}: line {line} is not UTF-8 text; save the file as UTF-8 CSV",
            [FieldError(f"line {line}", "not UTF-8 text")],
        ) from None


def _check_header(header: list[str], columns: Columns, name: str) -> None:
    problems: list[FieldError] = []
    seen: set[str] = set()
    for column in header:
        if column in seen:
            problems.append(FieldError("line 1", f"column {column!r} appears twice"))
        seen.add(column)
    missing = [column for column in columns.required if column not in seen]
    if missing:
        problems.append(FieldError("line 1", f"missing column(s): {', '.join(missing)}"))
    unknown = [column for column in header if column not in columns.all]
    if unknown:
        expected = ", ".join(columns.all)
        problems.append(
            FieldError("line 1", f"unknown column(s): {', '.join(unknown)} (expected: {expected})")
        )
    if problems:
        details = "; ".join(problem.detail for problem in problems)
        raise Invalid(f"{name}: the header is wrong: {details}; nothing was imported", problems)


def read_csv(source: Path | bytes, columns: Columns, *, name: str | None = None) -> CsvFile:
    """Parse a UTF-8 CSV (a byte-order mark is allowed) and check its header.

    A wrong header is refused at once; rows with the wrong number of fields are recorded in
    the returned file's ``errors`` so that every other row is still checked.
    """
    if isinstance(source, Path):
        name = name or source.name
        data = source.read_bytes()
    else:
        name = name or "CSV file"
        data = source
    digest = hashlib.sha256(data).hexdigest()
    text = _decode(data, name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise Invalid(f"{name}: line 1: {error}", [FieldError("line 1", str(error))]) from None
    if header is None or not any(cell.strip() for cell in header):
        raise Invalid(f"{name}: the file is empty; expected a header line with the columns")
    header = [cell.strip() for cell in header]
    _check_header(header, columns, name)
    errors = RowErrors(name)
    rows: list[CsvRow] = []
    width = len(header)
    while True:
        # A quoted field may span lines: the row starts on the line after the last one read.
        line = reader.line_num + 1
        try:
            fields = next(reader, None)
        except csv.Error as error:
            errors.add(line, f"cannot be read as CSV: {error}")
            break  # the reader cannot resynchronise after a malformed record
        if fields is None:
            break
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # blank lines are allowed (spreadsheets often leave one at the end)
        if len(fields) != width:
            errors.add(line, f"has {len(fields)} fields but the header has {width}")
            continue
        values = {column: value.strip() for column, value in zip(header, fields, strict=True)}
        for column, value in values.items():
            if "\x00" in value:
                errors.add(line, f"{column}: must not contain NUL characters")
                break
        else:
            rows.append(CsvRow(line, values))
    return CsvFile(name, digest, tuple(header), rows, errors, len(rows) + len(errors))


def split_list(value: str) -> list[str]:
    """A semicolon-separated cell as a list, blanks dropped."""
    return [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]


def optional(value: str | None) -> str | None:
    """An empty cell as ``None``."""
    return value or None


def describe(error: ValidationError, names: Mapping[str, str] | None = None) -> str:
    """A pydantic error as one line, with fields named as the CSV columns are."""
    parts = []
    for item in error.errors(include_url=False):
        location = [str(part) for part in item.get("loc", ())]
        # A bulk TypeAdapter puts the row index first; the line number replaces it.
        if location and location[0].isdigit():
            location = location[1:]
        head = location[0] if location else ""
        if names and head in names:
            location[0] = names[head]
        where = ".".join(location)
        message = str(item.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def duplicates_within(
    rows: Iterable[CsvRow], key: Callable[[CsvRow], str], what: str, errors: RowErrors
) -> None:
    """Report every row whose ``key`` was already used by an earlier row of the file."""
    first_line: dict[str, int] = {}
    for row in rows:
        value = key(row)
        if not value:
            continue
        if value in first_line:
            errors.add(row.line, f"{what} {value!r} is already used on line {first_line[value]}")
        else:
            first_line[value] = row.line


def external_id_of(row: CsvRow) -> str:
    """The row's ``external_id``: the key that makes importing a file again safe."""
    return row.values["external_id"]


def counted(rows: Sequence[CsvRow], progress: Progress) -> Iterator[CsvRow]:
    """``rows`` one by one, advancing ``progress`` as they are checked."""
    for index, row in enumerate(rows):
        if index % PROGRESS_STEP == PROGRESS_STEP - 1:
            progress.advance(PROGRESS_STEP)
        yield row
    progress.advance(len(rows) % PROGRESS_STEP)


def chunks(values: Sequence[T], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def lookup(
    db: Session,
    key: InstrumentedAttribute[Any],
    values: Iterable[str],
    *extra: InstrumentedAttribute[Any] | ColumnElement[Any],
) -> dict[str, tuple[Any, ...]]:
    """Rows whose ``key`` is one of ``values``: key → the ``extra`` columns (chunked IN queries)."""
    wanted = sorted({value for value in values if value})
    found: dict[str, tuple[Any, ...]] = {}
    for part in chunks(wanted):
        query = select(key, *extra).where(key.in_(part))
        for row in db.execute(query):
            found[row[0]] = tuple(row[1:])
    return found


def resolve_references(
    db: Session,
    references: Iterable[str],
    *,
    external_id_column: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[Any],
    id_prefix: str,
    other_column: InstrumentedAttribute[Any],
) -> dict[str, tuple[Any, Any]]:
    """Records a file names by external id or by id: reference → (id, ``other_column``).

    A reference is tried as an external id first; one that matches none and looks like an id
    with ``id_prefix`` is then tried as an id.
    """
    wanted = {reference for reference in references if reference}
    found = {
        reference: (row[0], row[1])
        for reference, row in lookup(
            db, external_id_column, wanted, id_column, other_column
        ).items()
    }
    by_id = [reference for reference in wanted - found.keys() if is_id(reference, id_prefix)]
    for reference, row in lookup(db, id_column, by_id, id_column, other_column).items():
        found[reference] = (row[0], row[1])
    return found


def table_of(model: type[Any]) -> Table:
    """The Core table of a mapped class (bulk writes skip the ORM's per-object work)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_batches(
    db: Session,
    model: type[Any],
    rows: Sequence[Mapping[str, Any]],
    progress: Progress | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> None:
    """Insert ``rows`` into ``model``'s table with executemany in batches, reporting each."""
    table = table_of(model)
    for part in chunks(rows, batch_size):
        db.execute(insert(table), list(part))
        if progress is not None:
            progress.advance(len(part))


@dataclass(slots=True)
class ImportRun:
    """One import of one file; the subject of the ``import.completed`` event."""

    __event_subject__ = "import"

    id: str


@dataclass(slots=True)
class ImportReport:
    """What an import did: rows created, rows that changed what an earlier import created
    (``updated``: line, external id and the fields that changed), and rows skipped because
    they were already there as they are."""

    kind: str
    file_name: str
    file_sha256: str
    rows: int
    created: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    updated: list[tuple[int, str, list[str]]] = field(default_factory=list)
    import_id: str | None = None

    def skip(self, row: CsvRow) -> None:
        """Record that ``row`` was imported before, so it is left as it is."""
        self.skipped.append((row.line, external_id_of(row)))

    def update(self, row: CsvRow, fields: Sequence[str]) -> None:
        """Record that ``row`` changes ``fields`` of what an earlier import created."""
        self.updated.append((row.line, external_id_of(row), list(fields)))

    @property
    def skipped_count(self) -> int:
        """Rows already imported before."""
        return len(self.skipped)


def record_created(
    db: Session,
    actor: Principal,
    drafts: Sequence[events.Draft],
    report: ImportReport,
    progress: Progress | None = None,
) -> None:
    """Append one event per created row, then ``import.completed`` summarizing the file."""
    progress = progress or NoProgress()
    progress.phase(f"recording {len(drafts):,} events", len(drafts))
    for part in chunks(drafts, BATCH_SIZE):
        events.append_many(db, actor, part)
        progress.advance(len(part))
    run = ImportRun(new_id("imp"))
    report.import_id = run.id
    events.append(
        db,
        actor,
        "import.completed",
        run,
        kind=report.kind,
        file_name=report.file_name,
        file_sha256=report.file_sha256,
        rows=report.rows,
        created=report.created,
        skipped=report.skipped_count,
        updated=len(report.updated),
        completed_at=clock.now(),
    )
    db.flush()


def open_import(
    actor: Principal,
    permission: Permission,
    *,
    kind: str,
    source: Path | bytes,
    columns: Columns,
    name: str | None,
    progress: Progress | None,
) -> tuple[CsvFile, ImportReport, Progress]:
    """The shared start of every import: permission, read the file, start its report.

    Imports are vendor operations: partner users add their people one by one instead.
    """
    actor.require(permission)
    if actor.partner_scope is not None:
        raise Forbidden(f"partner users cannot import {kind}")
    file = read_csv(source, columns, name=name)
    report = ImportReport(kind, file.name, file.sha256, file.total)
    return file, report, progress or NoProgress()
