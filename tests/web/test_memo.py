"""The public routes' memory: bounded by size and age, and safe to share between threads."""

from __future__ import annotations

import threading

from charter.web.memo import Memo


def test_values_age_out_after_their_time() -> None:
    now = [0.0]
    memo: Memo[str, bytes] = Memo(1024, size=len, ttl=2.0, timer=lambda: now[0])
    memo.put("a", b"first")
    now[0] = 1.9
    assert memo.get("a") == b"first"
    now[0] = 2.1
    assert memo.get("a") is None


def test_the_least_recently_used_go_first_when_the_size_is_reached() -> None:
    memo: Memo[str, bytes] = Memo(10, size=len)
    memo.put("a", b"aaaa")
    memo.put("b", b"bbbb")
    assert memo.get("a") == b"aaaa"  # now the more recent of the two
    memo.put("c", b"cccc")
    assert memo.get("b") is None
    assert memo.get("a") == b"aaaa"
    memo.put("huge", b"x" * 11)  # larger than the whole memory: not kept, nothing lost
    assert memo.get("huge") is None
    assert memo.get("c") == b"cccc"


def test_a_forgotten_value_is_read_again() -> None:
    memo: Memo[str, bytes] = Memo(100, size=len)
    memo.put("a", b"old")
    memo.forget("a")
    memo.forget("never kept")
    assert memo.get("a") is None


def test_threads_sharing_it_see_only_whole_values() -> None:
    memo: Memo[int, bytes] = Memo(4096, size=len)
    failures: list[str] = []
    start = threading.Barrier(16)

    def work(n: int) -> None:
        start.wait()
        for i in range(2000):
            key = (n * 7 + i) % 97
            memo.put(key, bytes([key]) * 40)
            found = memo.get(key)
            if found is not None and found != bytes([key]) * 40:
                failures.append(f"{key}: {found!r}")
            if i % 5 == 0:
                memo.forget((key + 1) % 97)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
