"""SQLite databases Charter creates: WAL mode, foreign keys, and pages sized for credentials."""

import sqlite3

from charter.db.engine import SQLITE_PAGE_SIZE, make_engine
from charter.schema import create_all


def _pragmas(url: str) -> tuple[int, str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return (
                connection.exec_driver_sql("PRAGMA page_size").scalar_one(),
                connection.exec_driver_sql("PRAGMA journal_mode").scalar_one(),
                connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one(),
            )
    finally:
        engine.dispose()


def test_a_new_sqlite_database_takes_larger_pages(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = make_engine(url)
    create_all(engine)
    engine.dispose()
    assert SQLITE_PAGE_SIZE > 4096
    assert _pragmas(url) == (SQLITE_PAGE_SIZE, "wal", 1)


def test_an_existing_sqlite_database_keeps_its_page_size(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE kept (x)")
    connection.close()
    assert _pragmas(f"sqlite:///{path}") == (4096, "wal", 1)
