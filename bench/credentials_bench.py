"""Open Badges 3.0 issue and verify throughput on one core, against Digital Bazaar's vc.js.

In one run, pinned to one CPU (the same one for Node and Python when the platform allows):

- vc.js: ``interop/bench.mjs`` issues N copies of a typical Charter credential with
  ``@digitalbazaar/vc`` 7 and ``eddsa-rdfc-2022`` (offline loader), then verifies them; timed
  inside Node.
- Charter issue: build the document (``ob3.build_credential``), validate it against the OB 3.0
  schema, safe-mode check, canonicalize and sign (``proofs.create_proof``).
- Charter verify: the contexts, the schema, the dates, the did:key, the proof
  (``proofs.verify_proof``). Status is left out on both sides.

Each Charter figure is measured on the fast path (:mod:`charter.credentials.fastcanon`) and on
the general path (pyld for everything). The parts (schema validation, canonicalization) are
timed alone too, so the totals can be explained. Offline; bounded by ``--count`` and
``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.credentials import fastcanon, jsonld, ob3, proofs, statuslist
from charter.crypto import dids

INTEROP_DIR = Path(__file__).resolve().parents[1] / "interop"
SEED = bytes(range(32))
CONTEXTS = [ob3.VC_V2_CONTEXT, ob3.OB_CONTEXT]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Rate:
    what: str
    count: int
    seconds: float
    baseline: str | None = None  # the vc.js row this one is compared with

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")


@contextmanager
def one_cpu() -> Iterator[int | None]:
    """Pin this process to one CPU for the block; yields the CPU (None if not supported)."""
    if not hasattr(os, "sched_getaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, before)


class Issuer:
    """A did:key issuer and the inputs of a typical certification credential."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.from_private_bytes(SEED)
        self.did = dids.did_key_from_public(self.key.public_key())
        self.method = dids.did_key_verification_method(self.did)
        self.profile = ob3.IssuerProfile(
            id=self.did,
            name="Acme Software Partner Program",
            url="https://partners.acme.example",
            email="badges@acme.example",
            image_url="https://partners.acme.example/logo.png",
        )
        self.achievement = ob3.AchievementInfo(
            id="https://partners.acme.example/certifications/cert_01HZX3",
            name="Acme Certified Technical Professional",
            description="Designs, deploys and supports Acme Platform installations for customers.",
            criteria_narrative=(
                "Pass the Acme Platform Technical exam (TECH-101) with at least 70%, and the "
                "hands-on lab assessment."
            ),
            criteria_url="https://partners.acme.example/certifications/cert_01HZX3/criteria",
            image_url="https://partners.acme.example/certifications/cert_01HZX3/image.png",
            version="2025",
        )

    def document(self, index: int) -> dict[str, Any]:
        """The unsigned credential for the index-th person."""
        valid_from = NOW + timedelta(seconds=index)
        return ob3.build_credential(
            credential_id=f"urn:uuid:8a1b2c3d-0000-4000-8000-{index:012d}",
            issuer=self.profile,
            achievement=self.achievement,
            subject=ob3.SubjectInfo(
                email=f"person{index}@firm{index % 97}.example", salt=f"{index:016x}"
            ),
            valid_from=valid_from,
            valid_until=valid_from + timedelta(days=730),
            status_entries=[
                statuslist.status_entry(
                    "https://partners.acme.example/status/revocation/1", index, "revocation"
                )
            ],
        )


Validator = Callable[[dict[str, Any]], list[str]]


def issue(
    issuer: Issuer, index: int, validate: Validator = ob3.validate_credential
) -> dict[str, Any]:
    """Build, validate, check and sign one credential."""
    document = issuer.document(index)
    errors = validate(document)
    if errors:
        raise AssertionError(f"benchmark credential is not valid: {errors}")
    return proofs.create_proof(document, issuer.key, issuer.method, NOW)


def verify(document: dict[str, Any], validate: Validator = ob3.validate_credential) -> bool:
    """Contexts, schema, dates, key and proof of a credential issued by a did:key."""
    if document.get("@context", [])[:2] != CONTEXTS:
        return False
    if validate(document):
        return False
    valid_from = datetime.fromisoformat(document["validFrom"])
    valid_until = document.get("validUntil")
    if valid_from > NOW + timedelta(days=1) or (
        valid_until is not None and datetime.fromisoformat(valid_until) < NOW
    ):
        return False
    method = proofs.proofs_of(document)[0]["verificationMethod"]
    if method.split("#")[0] != document["issuer"]["id"]:
        return False
    return proofs.verify_proof(document, dids.resolve_did_key(method))


def timed(what: str, count: int, seconds: float, step: Callable[[int], object]) -> Rate:
    """Run ``step(i)`` up to ``count`` times or ``seconds``, whichever ends first."""
    start = time.perf_counter()
    done = 0
    for index in range(count):
        step(index)
        done += 1
        if time.perf_counter() - start > seconds:
            break
    return Rate(what, done, time.perf_counter() - start)


def run_vcjs(issuer: Issuer, count: int, seconds: float, cpu: int | None) -> dict[str, Any]:
    """Run interop/bench.mjs on the same CPU; its own timings."""
    node = shutil.which("node")
    if node is None or not (INTEROP_DIR / "node_modules").is_dir():
        raise SystemExit("vc.js needs node and interop/node_modules (cd interop && npm ci)")
    payload = {
        "mode": "bench",
        "credential": issuer.document(0),
        "count": count,
        "seedHex": SEED.hex(),
        "seconds": seconds,
    }

    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    done = subprocess.run(
        [node, "bench.mjs"],
        cwd=INTEROP_DIR,
        input=json.dumps(payload).encode(),
        capture_output=True,
        timeout=seconds * 4 + 120,
        preexec_fn=pin,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"interop/bench.mjs failed:\n{done.stderr.decode()}")
    result: dict[str, Any] = json.loads(done.stdout)
    if not result["verifiedAll"]:
        raise SystemExit("vc.js did not verify its own credentials")
    return result


def measure(count: int, general_count: int, seconds: float) -> list[Rate]:
    """Every figure, in one run."""
    issuer = Issuer()
    with one_cpu() as cpu:
        rates = _vcjs(issuer, count, seconds, cpu)
        path_rates, signed = _paths(issuer, count, general_count, seconds)
        rates += path_rates
        rates += _parts(issuer, count, general_count, seconds, signed)
    return rates


def _vcjs(issuer: Issuer, count: int, seconds: float, cpu: int | None) -> list[Rate]:
    """vc.js's issue and verify rates (timed inside Node)."""
    js = run_vcjs(issuer, count, seconds, cpu)
    # vc.js's credential must verify here too (and is then a fair verify input).
    assert proofs.verify_proof(
        js["signed"], dids.resolve_did_key(proofs.proofs_of(js["signed"])[0]["verificationMethod"])
    ), "Charter does not verify vc.js's credential"
    return [
        Rate("vc.js issue", js["issued"], js["issueSeconds"]),
        Rate("vc.js verify", js["verified"], js["verifySeconds"]),
    ]


def _paths(
    issuer: Issuer, count: int, general_count: int, seconds: float
) -> tuple[list[Rate], list[dict[str, Any]]]:
    """Charter's issue and verify rates on the fast and the general path; the fast path's
    signed credentials."""
    rates: list[Rate] = []
    fastcanon.clear_cache()
    issue(issuer, 0)  # compile the shape, as a running server would have
    signed: list[dict[str, Any]] = []
    rate = timed("Charter issue, fast", count, seconds, lambda i: signed.append(issue(issuer, i)))
    rates.append(Rate(rate.what, rate.count, rate.seconds, "vc.js issue"))
    rate = timed("Charter verify, fast", len(signed), seconds, lambda i: _check(signed[i]))
    rates.append(Rate(rate.what, rate.count, rate.seconds, "vc.js verify"))

    with proofs.general_path():
        general: list[dict[str, Any]] = []
        rate = timed(
            "Charter issue, general (pyld)",
            general_count,
            seconds,
            lambda i: general.append(issue(issuer, i)),
        )
        rates.append(Rate(rate.what, rate.count, rate.seconds, "vc.js issue"))
        rate = timed(
            "Charter verify, general (pyld)",
            len(general),
            seconds,
            lambda i: _check(general[i]),
        )
        rates.append(Rate(rate.what, rate.count, rate.seconds, "vc.js verify"))
    # The two paths sign the same bytes.
    assert signed[: len(general)] == general, "fast and general proofs differ"
    return rates, signed


def _parts(
    issuer: Issuer,
    count: int,
    general_count: int,
    seconds: float,
    signed: list[dict[str, Any]],
) -> list[Rate]:
    """The parts of issuing and verifying, timed alone, so the totals can be explained."""
    documents = [issuer.document(i) for i in range(min(count, 2000))]
    public = issuer.key.public_key()
    return [
        timed(
            "  part: schema validation",
            len(documents),
            seconds,
            lambda i: ob3.validate_credential(documents[i]),
        ),
        timed(
            "  part: canonicalize, fast",
            len(documents),
            seconds,
            lambda i: fastcanon.canonicalize(documents[i]),
        ),
        timed(
            "  part: canonicalize, pyld",
            general_count,
            seconds,
            lambda i: jsonld.canonicalize(documents[i]),
        ),
        timed(
            "  part: proof only (sign, fast)",
            len(documents),
            seconds,
            lambda i: proofs.create_proof(documents[i], issuer.key, issuer.method, NOW),
        ),
        timed(
            "  part: proof only (verify, fast)",
            len(signed),
            seconds,
            lambda i: proofs.verify_proof(signed[i], public),
        ),
    ]


def _check(document: dict[str, Any], validate: Validator = ob3.validate_credential) -> None:
    if not verify(document, validate):
        raise AssertionError("a credential issued by the benchmark did not verify")


def render(rates: Sequence[Rate], cpu_note: str) -> None:
    """Print the figures as a table."""
    from rich.console import Console
    from rich.table import Table

    by_name = {rate.what: rate for rate in rates}
    table = Table("what", "count", "seconds", "per second", "ratio to vc.js", title=cpu_note)
    for rate in rates:
        ratio = ""
        if rate.baseline and rate.baseline in by_name:
            ratio = f"{rate.per_second / by_name[rate.baseline].per_second:.1f}"
        table.add_row(
            rate.what, f"{rate.count:,}", f"{rate.seconds:.2f}", f"{rate.per_second:,.0f}", ratio
        )
    Console(width=120).print(table)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bench credentials``."""
    parser = argparse.ArgumentParser(prog="python -m bench credentials", description=__doc__)
    parser.add_argument("--count", type=int, default=3000, help="credentials per measurement")
    parser.add_argument(
        "--general-count", type=int, default=300, help="credentials on the pyld path (slow)"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="time cap per measurement")
    args = parser.parse_args(argv)
    count = max(args.count, 10)
    general_count = max(min(args.general_count, count), 10)
    rates = measure(count, general_count, args.seconds)
    pinned = "one CPU" if hasattr(os, "sched_setaffinity") else "not pinned"
    render(rates, f"OB 3.0 credentials, eddsa-rdfc-2022, {pinned}, Node and Python in turn")
