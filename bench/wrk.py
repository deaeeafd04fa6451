"""wrk, the HTTP load generator: one run from a pinned core, and what its output reports."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

TIMEOUT = "5s"
"""wrk's own request timeout: a request unanswered this long counts as a timeout error."""


class SocketErrors(NamedTuple):
    """wrk's ``Socket errors`` line: connections refused, reads, writes and timeouts that failed."""

    connect: int = 0
    read: int = 0
    write: int = 0
    timeout: int = 0


class WrkResult(NamedTuple):
    """What one wrk run reports: its rate, its 99th-percentile latency and its errors."""

    requests_per_second: float
    p99_ms: float | None
    non_2xx_3xx: int
    socket_errors: SocketErrors

    @property
    def errors(self) -> int:
        """Responses other than 2xx/3xx and failed socket operations, together."""
        return self.non_2xx_3xx + sum(self.socket_errors)

    def describe_errors(self) -> str:
        """The error count with what it is made of, e.g. ``12 (non-2xx/3xx 10, timeout 2)``."""
        if not self.errors:
            return "0"
        parts = [f"non-2xx/3xx {self.non_2xx_3xx}"] if self.non_2xx_3xx else []
        parts += [f"{kind} {n}" for kind, n in self.socket_errors._asdict().items() if n]
        return f"{self.errors} ({', '.join(parts)})"


_MILLISECONDS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_RATE = re.compile(r"^Requests/sec:\s+([0-9.]+)\s*$", re.MULTILINE)
_P99 = re.compile(r"^\s*99(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_NON_2XX_3XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(output: str) -> WrkResult:
    """The rate, p99 latency and errors in wrk's output (run with ``--latency``).

    ``ValueError`` when the output holds no ``Requests/sec`` line. The p99 is ``None`` when
    wrk printed none (no request completed).
    """
    rate = _RATE.search(output)
    if rate is None:
        raise ValueError("no 'Requests/sec' line in wrk's output")
    p99 = _P99.search(output)
    non_2xx_3xx = _NON_2XX_3XX.search(output)
    socket_errors = _SOCKET_ERRORS.search(output)
    return WrkResult(
        requests_per_second=float(rate.group(1)),
        p99_ms=float(p99.group(1)) * _MILLISECONDS[p99.group(2)] if p99 else None,
        non_2xx_3xx=int(non_2xx_3xx.group(1)) if non_2xx_3xx else 0,
        socket_errors=(
            SocketErrors(*(int(n) for n in socket_errors.groups()))
            if socket_errors
            else SocketErrors()
        ),
    )


def mean_result(results: Sequence[WrkResult]) -> WrkResult:
    """Several runs of one route as one: the mean rate, the worst p99, all errors."""
    latencies = [r.p99_ms for r in results if r.p99_ms is not None]
    return WrkResult(
        requests_per_second=sum(r.requests_per_second for r in results) / len(results),
        p99_ms=max(latencies) if latencies else None,
        non_2xx_3xx=sum(r.non_2xx_3xx for r in results),
        socket_errors=SocketErrors(
            *(sum(column) for column in zip(*(r.socket_errors for r in results), strict=True))
        ),
    )


def post_script(directory: Path, name: str, body: bytes) -> Path:
    """A Lua script making wrk send POST with ``body`` (kept in a file beside it)."""
    body_file = directory / f"{name}.body"
    body_file.write_bytes(body)
    script = directory / f"{name}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'local file = assert(io.open([==[{body_file}]==], "rb"))\n'
        'wrk.body = file:read("*a")\n'
        "file:close()\n"
    )
    return script


def run(
    url: str,
    *,
    core: str,
    connections: int,
    seconds: int,
    headers: Mapping[str, str],
    script: Path | None = None,
) -> WrkResult:
    """One thread of wrk on ``core``; ``RuntimeError`` when it fails or reports nothing."""
    command = ["taskset", "-c", core, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    command += ["--latency", "--timeout", TIMEOUT]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    try:
        done = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError("wrk did not finish in time") from error
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {(done.stderr or done.stdout).strip()[:200]}")
    try:
        return parse_wrk(done.stdout)
    except ValueError as error:
        raise RuntimeError(f"{error}: {done.stdout.strip()[:200]}") from error
