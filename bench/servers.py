"""Servers a benchmark starts: in sessions of their own, waited for, settled and stopped.

Each server is the leader of its own process group (``start_new_session``), so stopping it
ends the workers it started too, and a Ctrl-C in the terminal reaches only the benchmark,
whose ``finally`` blocks stop the servers.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple

import httpx

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
SETTLE_TIMEOUT_S = 60.0
SETTLE_WINDOW_S = 0.3
SETTLE_PROBE_TIMEOUT_S = 2.0
IDLE_SHARE = 0.1
"""A server using less than this share of a core over a settle window is idle."""


class Server(NamedTuple):
    """A running server: its process (leader of its process group) and a URL that probes it."""

    process: subprocess.Popen[bytes]
    probe: str


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(process: subprocess.Popen[bytes]) -> None:
    """End the server's whole process group (a multi-worker server's workers too)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_S)
    # Whatever is left of the group (a leader still finishing requests, a worker that outlived
    # it) must not keep the port or the database.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_S)


def _group_cpu_seconds(group: int) -> float:
    """CPU time (user and system) the live processes of a process group have used (``/proc``)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _answers_promptly(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url, timeout=SETTLE_PROBE_TIMEOUT_S).status_code < 500
    except httpx.HTTPError:
        return False


def settle(servers: Sequence[Server]) -> bool:
    """Wait until the servers are idle and answer their probes promptly.

    When wrk stops, requests it sent (and those it gave up on after its timeout) are still in
    a server's thread pool, possibly waiting for the database; they would be measured with the
    next row. Idle CPU alone does not show it: a request waiting for SQLite's lock sleeps, so a
    probe that touches the database answers too.
    ``False`` when the servers are still busy after :data:`SETTLE_TIMEOUT_S`.
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            groups = [server.process.pid for server in servers]
            before = sum(_group_cpu_seconds(group) for group in groups)
            time.sleep(SETTLE_WINDOW_S)
            used = sum(_group_cpu_seconds(group) for group in groups) - before
            if used < SETTLE_WINDOW_S * IDLE_SHARE and all(
                _answers_promptly(client, server.probe) for server in servers
            ):
                return True
    return False


@contextmanager
def serving(
    what: str,
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    probe: str,
) -> Iterator[Server]:
    """Run ``command`` in a session of its own until the block ends; wait until ``probe``
    answers (any status: whether it is right is the benchmark's to check)."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=2.0) as client:
            while True:
                if process.poll() is not None:
                    raise SystemExit(
                        f"{what} exited with status {process.returncode}:\n{_tail(log)}"
                    )
                try:
                    client.get(probe)
                    break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{what} did not answer within {START_TIMEOUT_S:.0f} s")
                time.sleep(0.1)
        yield Server(process, probe)
    finally:
        stop(process)


_CHAINED = ("The above exception", "During handling of the above exception")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*")


def log_errors(log: Path) -> Counter[str]:
    """The exceptions a server log reports, by their message's first line, and how often.

    A chained exception counts once, as the last of its chain (what the request died of).
    """
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return Counter()
    found: Counter[str] = Counter()
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _EXCEPTION_LINE.match(line) and not following.startswith(_CHAINED):
            found[line[:160]] += 1
    return found
