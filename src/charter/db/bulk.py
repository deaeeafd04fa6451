"""Writing many rows at once through the database driver: executemany on SQLite, binary COPY on
PostgreSQL.

Imports and bulk issuance write one row (or more) per record, so their inserts are hot paths:
SQLAlchemy's per-value processing and PostgreSQL's per-statement work would cost more than
making the rows. Callers hand over rows whose values are already as the driver binds them
(:func:`bound_time` for timestamps; JSON columns as their JSON text) and keep their own column
lists and PostgreSQL types; only the mechanism lives here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import column, insert, table
from sqlalchemy.orm import Session

from charter.core import clock


@dataclass(frozen=True, slots=True)
class BulkTable:
    """A table's columns as a bulk writer binds them, with the statements that write them."""

    name: str
    columns: tuple[str, ...]
    copy_types: tuple[str, ...]
    """The PostgreSQL type of each column, for binary COPY (no text parsing on the server)."""
    insert_sql: str = field(init=False)
    copy_sql: str = field(init=False)
    json_positions: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        if len(self.copy_types) != len(self.columns):
            raise ValueError(f"{self.name}: one COPY type per column")
        names = ", ".join(self.columns)
        # Only constant table and column names are interpolated; values are bound or streamed.
        placeholders = ", ".join("?" for _ in self.columns)
        insert_sql = f"INSERT INTO {self.name} ({names}) VALUES ({placeholders})"  # noqa: S608
        object.__setattr__(self, "insert_sql", insert_sql)
        object.__setattr__(
            self, "copy_sql", f"COPY {self.name} ({names}) FROM STDIN (FORMAT BINARY)"
        )
        positions = tuple(i for i, kind in enumerate(self.copy_types) if kind in {"json", "jsonb"})
        object.__setattr__(self, "json_positions", positions)


def insert_rows(db: Session, target: BulkTable, rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (values in ``target.columns`` order) in the session's transaction.

    executemany on SQLite, binary COPY on PostgreSQL; other dialects take SQLAlchemy's
    ordinary multi-row insert, with the values bound as given.
    """
    if not rows:
        return
    connection = db.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql(target.insert_sql, rows)
    elif dialect == "postgresql":
        copy_rows(connection.connection.driver_connection, target, rows)
    else:
        columns = target.columns
        plain = table(target.name, *(column(name) for name in columns))
        db.execute(insert(plain), [dict(zip(columns, row, strict=True)) for row in rows])


def copy_rows(driver: Any, target: BulkTable, rows: Iterable[Sequence[Any]]) -> None:
    """Write ``rows`` on a psycopg connection with binary COPY (for a caller that holds the
    driver connection itself, such as a thread storing beside the session)."""
    with driver.cursor() as cursor, cursor.copy(target.copy_sql) as copy:
        copy.set_types(target.copy_types)
        if not target.json_positions:
            for row in rows:
                copy.write_row(row)
            return
        # Imported here, not to dodge a cycle: only PostgreSQL needs psycopg loaded.
        from psycopg.types.json import Jsonb  # noqa: PLC0415

        positions = target.json_positions
        for row in rows:
            values = list(row)
            for position in positions:
                # The column's JSON text already: sent as it is, not encoded again.
                values[position] = Jsonb(values[position], dumps=_as_is)
            copy.write_row(values)


def _as_is(text: str) -> str:
    return text


def bound_time(value: datetime | None, dialect: str) -> Any:
    """A timestamp as the ``dialect``'s driver binds it in bulk rows: UTC, and on SQLite the
    text form SQLAlchemy's ``DateTime`` type stores and reads back."""
    if value is None:
        return None
    utc = clock.ensure_utc(value)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else utc


def insert_new_rows(
    db: Session,
    target: BulkTable,
    rows: Sequence[Sequence[Any]],
    *,
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` in one statement, leaving out those whose ``conflict`` columns match a
    row already stored (``ON CONFLICT DO NOTHING``); returns the ``returning`` columns of the
    rows actually inserted.

    The unique index decides, so concurrent callers sending the same rows store them once.
    SQLite takes a multi-row ``VALUES`` (keep ``len(rows) * len(columns)`` within its 32,766
    bound parameters); PostgreSQL takes one array a column, unnested (``target.copy_types``
    name their types), so the statement stays small however many rows it carries.
    """
    if not rows:
        return []
    connection = db.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        if target.json_positions:
            raise ValueError(f"{target.name}: JSON columns are not unnested")
        sql = _unnest_new_sql(target, conflict, returning)
        params: tuple[Any, ...] = tuple(list(values) for values in zip(*rows, strict=True))
    else:
        sql = _values_new_sql(target.name, target.columns, len(rows), conflict, returning)
        params = tuple(value for row in rows for value in row)
    return [tuple(row) for row in connection.exec_driver_sql(sql, params).all()]


def _on_conflict(conflict: tuple[str, ...], returning: tuple[str, ...]) -> str:
    return f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}"


@functools.lru_cache(maxsize=64)
def _values_new_sql(
    name: str,
    columns: tuple[str, ...],
    count: int,
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
) -> str:
    one = "(" + ", ".join("?" for _ in columns) + ")"
    # Only constant table and column names are interpolated; values are bound.
    return (
        f"INSERT INTO {name} ({', '.join(columns)}) VALUES {', '.join([one] * count)} "  # noqa: S608
        + _on_conflict(conflict, returning)
    )


@functools.lru_cache(maxsize=64)
def _unnest_new_sql(
    target: BulkTable, conflict: tuple[str, ...], returning: tuple[str, ...]
) -> str:
    # Binary parameters: psycopg writes arrays in text form with a regular expression an item.
    arrays = ", ".join(f"%b::{kind}[]" for kind in target.copy_types)
    # Only constant table and column names are interpolated; values are bound.
    return (
        f"INSERT INTO {target.name} ({', '.join(target.columns)}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays}) " + _on_conflict(conflict, returning)
    )
