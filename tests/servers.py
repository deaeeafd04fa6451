"""Real servers for tests: the app on Uvicorn in a thread, or ``charter serve`` as a child
process on the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from starlette.types import ASGIApp

from charter.config import Settings


@contextmanager
def uvicorn_serving(app: ASGIApp, port: int) -> Iterator[uvicorn.Server]:
    """``app`` on a real Uvicorn on ``port`` (loopback), in a thread; stopped on leaving, so
    a test can also stop it early (``server.should_exit``) and find the port refusing."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("test server did not start")
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def charter_serve(
    engine: Engine,
    settings: Settings,
    data_dir: Path,
    port: int,
    env: Mapping[str, str],
    *,
    start_seconds: float = 60,
) -> Iterator[str]:
    """Serve on ``port`` with the test settings and ``env``; the base URL while it runs.

    It fails the test if the server does not start, or if it logged a traceback.
    """
    environment = {
        **os.environ,
        "CHARTER_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CHARTER_SECRET_KEY": settings.secret_key or "",
        "CHARTER_DATA_DIR": str(data_dir),
        "CHARTER_PUBLIC_URL": settings.public_url,
        "CHARTER_LOG_LEVEL": "warning",
        **env,
    }
    command = [sys.executable, "-m", "charter.cli.main", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--no-access-log"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                _, errors = process.communicate(timeout=5)
                pytest.fail(f"charter serve did not start: {errors.decode()[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            _, errors = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
        # Whatever went wrong inside the server is in the failure report.
        if b"Traceback" in errors:
            pytest.fail(f"the server logged an error:\n{errors.decode()[-4000:]}")
