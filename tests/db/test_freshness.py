"""What a worker keeps from a SQLite database is forgotten at the next change, whoever made it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from sqlalchemy import create_engine

from charter.db.freshness import DataVersion, StampedCache, change_watch


def _database(tmp_path) -> str:
    path = tmp_path / "watched.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x INTEGER)")
    return str(path)


def test_a_commit_by_another_connection_or_process_changes_the_version(tmp_path):
    path = _database(tmp_path)
    watch = DataVersion(path)
    first = watch.current()
    assert watch.current() == first  # nothing committed: unchanged

    with sqlite3.connect(path) as other:
        other.execute("INSERT INTO t VALUES (1)")
    second = watch.current()
    assert second != first

    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
        " c.execute('INSERT INTO t VALUES (2)'); c.commit()"
    )
    subprocess.run([sys.executable, "-c", script, path], check=True)
    assert watch.current() != second


def test_a_kept_value_is_answered_until_the_database_changes(tmp_path):
    path = _database(tmp_path)
    cache: StampedCache[str, int] = StampedCache(DataVersion(path), size=10)
    value, stamp = cache.get("k")
    assert value is None
    cache.put("k", 42, stamp)
    assert cache.get("k")[0] == 42

    with sqlite3.connect(path) as other:
        other.execute("INSERT INTO t VALUES (1)")
    assert cache.get("k")[0] is None


def test_a_value_read_across_a_change_is_not_kept(tmp_path):
    path = _database(tmp_path)
    cache: StampedCache[str, int] = StampedCache(DataVersion(path), size=10)
    _, stamp = cache.get("k")
    with sqlite3.connect(path) as other:  # committed while the value was being read
        other.execute("INSERT INTO t VALUES (1)")
    cache.get("other")  # the cache sees the change
    cache.put("k", 42, stamp)
    assert cache.get("k")[0] is None


def test_the_cache_is_bounded(tmp_path):
    cache: StampedCache[int, int] = StampedCache(DataVersion(_database(tmp_path)), size=3)
    _, stamp = cache.get(0)
    for key in range(5):
        cache.put(key, key, stamp)
    assert [cache.get(key)[0] for key in range(5)] == [None, None, 2, 3, 4]


def test_nothing_is_kept_without_a_watch(tmp_path):
    assert change_watch(create_engine("postgresql+psycopg://u@127.0.0.1/x")) is None
    assert change_watch(create_engine("sqlite://")) is None
    cache: StampedCache[str, int] = StampedCache(None, size=3)
    _, stamp = cache.get("k")
    cache.put("k", 1, stamp)
    assert cache.get("k") == (None, None)


def test_a_file_database_is_watched(tmp_path):
    watch = change_watch(create_engine(f"sqlite:///{_database(tmp_path)}"))
    assert isinstance(watch, DataVersion)
    assert isinstance(watch.current(), int)
