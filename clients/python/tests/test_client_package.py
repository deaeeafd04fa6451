"""The client is a distribution of its own: it imports nothing of the server."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_importing_the_client_loads_no_server_module():
    probe = (
        "import sys, charter_client; "
        "print(sorted(m for m in sys.modules if m == 'charter' or m.startswith('charter.')))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "[]"


def test_its_only_dependencies_are_httpx_and_cryptography():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = sorted(
        requirement.split(">")[0].split("=")[0] for requirement in project["dependencies"]
    )
    assert project["name"] == "charter-client"
    assert names == ["cryptography", "httpx"]
