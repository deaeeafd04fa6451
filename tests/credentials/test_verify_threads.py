"""Many threads verifying at once get exactly the verdicts one thread gets.

The verify route and the public pages run in a thread pool, and pyld keeps module-level caches
of processed contexts that the general path (pyld for everything) changes on every call. Every
kind of verdict is in the mix, on the fast path and on the general path, and some threads forget
the compiled shapes so that they are compiled again (with pyld) while others read them.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from charter.credentials import fastcanon, proofs
from charter.credentials.resolver import OfflineResolver
from charter.credentials.verify import verify_credential
from tests.credentials.test_verify import (
    LIST_URL,
    NOW,
    _badge_with_status,
    badge,
    did_key_signer,
    ob_example,
    signed_list,
)

THREADS = 64
ROUNDS = 2


@dataclass(frozen=True)
class Case:
    """A credential, the documents its verifier may fetch, and the path it is verified on."""

    name: str
    document: dict[str, Any]
    documents: dict[str, dict[str, Any]]
    general: bool = False


def _cases() -> list[Case]:
    signer = did_key_signer()
    with_status = _badge_with_status(signer)
    clean = {LIST_URL: signed_list(signer)}
    tampered = {**with_status, "name": "Acme Certified Forger"}
    dropped = {**with_status, "partnerTier": "gold"}
    expired = signer.sign(
        badge(
            signer.did,
            valid_from=datetime(2023, 1, 1, tzinfo=UTC),
            valid_until=datetime(2024, 1, 1, tzinfo=UTC),
        )
    )
    # A tag: IRI is absolute, but not one the fast path templates: pyld handles the document.
    unknown_shape = signer.sign({**badge(signer.did), "id": "tag:acme.example,2025:badge-1"})
    example, controller = ob_example()
    return [
        Case("valid", with_status, clean),
        Case("valid, general path", with_status, clean, general=True),
        Case("signature tampered", tampered, clean),
        Case("dropped term", dropped, clean),
        Case("dropped term, general path", dropped, clean, general=True),
        Case("expired", expired, {}),
        Case("revoked", with_status, {LIST_URL: signed_list(signer, set_indexes=(4242,))}),
        Case("1EdTech example", example, controller),
        Case("unknown shape", unknown_shape, {}),
    ]


def _verdict(case: Case) -> dict[str, Any]:
    resolver = OfflineResolver(case.documents)
    if case.general:
        with proofs.general_path():
            return verify_credential(case.document, resolver=resolver, now=NOW).as_dict()
    return verify_credential(case.document, resolver=resolver, now=NOW).as_dict()


@pytest.fixture
def tight_switching() -> Iterator[None]:
    """Threads switch every 10 microseconds instead of every 5 ms: races show up in fewer calls."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_the_cases_cover_every_kind_of_verdict() -> None:
    cases = {case.name: case for case in _cases()}
    verdicts = {name: _verdict(case) for name, case in cases.items()}
    assert {name: verdict["status"] for name, verdict in verdicts.items()} == {
        "valid": "valid",
        "valid, general path": "valid",
        "signature tampered": "invalid",
        "dropped term": "invalid",
        "dropped term, general path": "invalid",
        "expired": "expired",
        "revoked": "revoked",
        "1EdTech example": "valid",
        "unknown shape": "valid",
    }
    assert "signature does not match" in verdicts["signature tampered"]["reason"]
    assert "partnerTier" in verdicts["dropped term"]["reason"]
    assert verdicts["dropped term, general path"] == verdicts["dropped term"]
    assert verdicts["valid, general path"] == verdicts["valid"]
    assert not fastcanon.analyse(cases["unknown shape"].document).fast


def test_verdicts_under_64_threads_equal_the_single_threaded_ones(tight_switching: None) -> None:
    cases = _cases()
    expected = {case.name: _verdict(case) for case in cases}
    start = threading.Barrier(THREADS, timeout=60)
    wrong: list[str] = []

    def verify_many(index: int) -> None:
        try:
            start.wait()
            for round_number in range(ROUNDS):
                if index % 8 == 0:
                    # Shapes are compiled again (with pyld) while other threads use them.
                    fastcanon.clear_cache()
                shift = (index + round_number) % len(cases)
                for case in cases[shift:] + cases[:shift]:
                    got = _verdict(case)
                    if got != expected[case.name]:
                        wrong.append(f"{case.name}: {got['status']}: {got['reason']}")
        except Exception as error:  # every failure is reported below, not lost in the thread
            wrong.append(f"thread {index}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=verify_many, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong, f"{len(wrong)} wrong verdicts, first: {sorted(set(wrong))[:5]}"
