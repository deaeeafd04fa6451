"""Prefixed ids: well-formed, and in the order they were made."""

from __future__ import annotations

import threading

import pytest

from charter.core.ids import is_id, new_id


def test_ids_made_in_one_millisecond_still_sort_in_the_order_they_were_made() -> None:
    # Thousands are made within each millisecond here; keyset pagination lists rows by id.
    made = [new_id("prt") for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(is_id(value, "prt") for value in made[:100])


def test_ids_made_by_many_threads_are_unique() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def make(into: list[str]) -> None:
        into.extend(new_id("per") for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [value for into in made for value in into]
    assert len(set(everything)) == len(everything)
    assert all(into == sorted(into) for into in made)


@pytest.mark.parametrize(
    "value", ["prt_", "per_01M99CE0JTB8DMR3ABW55FCQJ4", "prt_01m99ce0jtb8dmr3abw55fcqj4"]
)
def test_malformed_or_other_ids_are_refused(value: str) -> None:
    assert not is_id(value, "prt")
