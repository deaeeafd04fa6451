"""What a worker keeps from a SQLite database is forgotten at the next change, whoever made it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import psycopg
import pytest
from sqlalchemy import create_engine

from charter.db.freshness import ChangeNotices, DataVersion, StampedCache, change_watch
from tests.partners.factories import partner


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


# PostgreSQL: change notices, counted by a listening thread.


def _eventually_differs(watch, before, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = watch.current()
        if now is not None and now != before:
            return now
        time.sleep(0.02)
    return watch.current()


@pytest.fixture
def notices(engine, backend):
    if backend != "postgresql":
        pytest.skip("change notices are PostgreSQL's")
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    # A long max age: only a notice (or this process's own commit) may change the stamp here.
    listening = ChangeNotices(lambda: psycopg.connect(conninfo, autocommit=True), max_age=3600)
    assert listening.wait_listening(10)
    yield listening, conninfo
    listening.close()


def test_a_commit_by_another_connection_is_noticed(notices, sessions, system):
    listening, conninfo = notices
    with sessions() as db, db.begin():
        firm = partner(db, system)
    before = listening.current()
    # Another connection, not this process's engine: only the notice can tell.
    with psycopg.connect(conninfo) as other:
        other.execute("UPDATE partners SET name = 'Renamed' WHERE id = %s", (firm.id,))
    assert _eventually_differs(listening, before) != before


def test_a_cache_on_notices_forgets_what_another_process_changed(notices, sessions, system):
    listening, conninfo = notices
    with sessions() as db, db.begin():
        firm = partner(db, system)
    cache: StampedCache[str, str] = StampedCache(listening, size=10)
    _, stamp = cache.get(firm.id)
    cache.put(firm.id, "kept", stamp)
    assert cache.get(firm.id)[0] == "kept"
    before = listening.current()
    with psycopg.connect(conninfo) as other:
        other.execute("UPDATE partners SET name = 'Renamed' WHERE id = %s", (firm.id,))
    _eventually_differs(listening, before)
    assert cache.get(firm.id)[0] is None


def test_a_change_to_a_table_nobody_keeps_notifies_nothing(notices):
    listening, conninfo = notices
    before = listening.current()
    with psycopg.connect(conninfo) as other:
        other.execute("CREATE TEMPORARY TABLE scratch (x int)")
        other.execute("INSERT INTO scratch VALUES (1)")
    with psycopg.connect(conninfo) as other:  # a notice, if any, arrives before this one
        other.execute("UPDATE partners SET name = name WHERE false")
    after = _eventually_differs(listening, before)
    # One notice (the partners statement), not two.
    assert (after >> 40) - (before >> 40) == 1


def test_while_not_listening_nothing_is_kept():
    def refuse():
        raise psycopg.OperationalError("no database here")

    down = ChangeNotices(refuse, max_age=3600)
    try:
        assert down.current() is None
        cache: StampedCache[str, int] = StampedCache(down, size=3)
        _, stamp = cache.get("k")
        cache.put("k", 1, stamp)
        assert cache.get("k")[0] is None
    finally:
        down.close()
