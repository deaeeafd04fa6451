"""The layout keeps its promise: dependencies point down, and only routes take request deps.

The layers are stated once, as import-linter contracts in ``pyproject.toml`` (``make lint``
runs them too). These tests run the same contracts on the real tree, and on a copy with one
upward import added, to show that the contracts can fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# The faces that handle HTTP requests: routes beside each domain's service (``api`` and
# ``<what>_api`` modules), the web pages (the portal's package too), the app.
ROUTE_MODULE = re.compile(r"^charter\.(\w+\.(\w+_)?api|web(\.\w+)+|app)$")


def _lint_imports(source: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run(
        [str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_the_layer_contracts_hold() -> None:
    result = _lint_imports(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "charter", tmp_path / "charter")
    clock = tmp_path / "charter" / "core" / "clock.py"
    clock.write_text(clock.read_text() + "\nfrom charter.tiers import service as _tiers\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "charter.core is not allowed to import charter.tiers" in result.stdout
    assert "charter.core.clock -> charter.tiers.service" in result.stdout


def test_only_routes_use_the_request_dependencies() -> None:
    graph = grimp.build_graph("charter")
    importers = graph.find_modules_that_directly_import("charter.deps")
    assert importers, "charter.deps is imported by the routes"
    assert sorted(m for m in importers if not ROUTE_MODULE.match(m)) == []
