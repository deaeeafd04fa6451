"""Interop fixtures: the independent Node verifier in interop/ (Digital Bazaar stack).

The Node packages are installed from interop/package-lock.json on first use. Tests are skipped
only when Node itself is missing; a failed install fails the run.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

INTEROP_DIR = Path(__file__).resolve().parents[2] / "interop"
NODE_TIMEOUT_S = 120


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the interop tests need Node 20 and npm")
    return node


def _ensure_node_modules() -> None:
    if (INTEROP_DIR / "node_modules" / ".package-lock.json").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("node is installed but npm is not; cannot install interop/package-lock.json")
    # xdist workers share the directory: one installs, the others wait on the lock.
    lock_path = Path(tempfile.gettempdir()) / "charter-interop-npm.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (INTEROP_DIR / "node_modules" / ".package-lock.json").is_file():
            return
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=INTEROP_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci in interop/ failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session", autouse=True)
def node_interop() -> Path:
    """Make sure Node and the interop packages are there; return the interop directory."""
    _node()
    _ensure_node_modules()
    return INTEROP_DIR


def _run(script: str, payload: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [_node(), str(INTEROP_DIR / script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"{script} failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def node_verify(payload: dict[str, Any]) -> dict[str, Any]:
    """Run interop/verify.mjs on ``payload``; returns {verified, error?, statusResults?}."""
    return _run("verify.mjs", payload)


def node_sign(payload: dict[str, Any]) -> dict[str, Any]:
    """Run interop/sign.mjs on ``payload``; returns {signed, controller, verificationMethod}."""
    return _run("sign.mjs", payload)


def node_check_checkpoint(payload: dict[str, Any]) -> dict[str, Any]:
    """Run interop/checkpoint.mjs on ``payload`` ({jws, didDocument}); returns {verified,
    header?, payload?, error?}."""
    return _run("checkpoint.mjs", payload)


def node_verify_token(payload: dict[str, Any]) -> dict[str, Any]:
    """Run interop/token.mjs on ``payload`` ({token, jwks, issuer, audience, typ,
    currentDate}); returns {verified, header?, payload?, error?, code?}."""
    return _run("token.mjs", payload)


def node_verify_http_signature(payload: dict[str, Any]) -> dict[str, Any]:
    """Run interop/httpsig.mjs on ``payload`` ({status, headers, body (base64), jwks, nonce});
    returns {verified, params?, error?}."""
    return _run("httpsig.mjs", payload)
