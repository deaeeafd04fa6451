"""Spectral's OpenAPI rules (``spectral:oas``) over the API document: no error, no warning.

Spectral is installed from tools/spectral/package-lock.json (``make spectral``, which ``make
test`` runs first); here it is installed the same way when missing. Skipped only when Node
itself is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from charter.app import create_app
from charter.config import Settings

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "spectral"
SPECTRAL = TOOLS / "node_modules" / ".bin" / "spectral"
RULESET = TOOLS / "ruleset.yaml"
SEVERITIES = {0: "error", 1: "warning", 2: "info", 3: "hint"}


def _spectral() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed; the API document lint needs Node 20 and npm")
    if not SPECTRAL.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("node is installed but npm is not; run `make spectral`")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TOOLS,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci in tools/spectral failed:\n{done.stdout}\n{done.stderr}")
    return SPECTRAL


def lint(document: dict, directory: Path) -> list[dict]:
    """Spectral's findings on ``document``: each with its rule, severity, path and message."""
    path = directory / "openapi.json"
    path.write_text(json.dumps(document))
    done = subprocess.run(
        [
            str(_spectral()),
            "lint",
            "--ruleset",
            str(RULESET),
            "--format",
            "json",
            "--quiet",
            "--fail-severity",
            "error",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        findings: list[dict] = json.loads(done.stdout or "[]")
    except ValueError:
        pytest.fail(f"spectral failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    if done.returncode not in (0, 1):
        pytest.fail(f"spectral failed ({done.returncode}):\n{done.stderr}")
    return findings


def _report(findings: list[dict]) -> str:
    return "\n".join(
        f"{SEVERITIES.get(f['severity'], f['severity'])} {f['code']} "
        f"{'.'.join(str(part) for part in f['path'])}: {f['message']}"
        for f in findings
    )


def test_the_api_document_passes_spectral(tmp_path):
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret_key="k", data_dir=tmp_path)
    )
    findings = [f for f in lint(app.openapi(), tmp_path) if f["severity"] <= 1]
    assert findings == [], _report(findings)


def test_spectral_reports_a_broken_document(tmp_path):
    # The lint can fail: an operation whose response names a schema that does not exist.
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1", "description": "d", "contact": {"name": "c"}},
        "servers": [{"url": "/"}],
        "tags": [{"name": "t", "description": "d"}],
        "paths": {
            "/x": {
                "get": {
                    "operationId": "x",
                    "description": "d",
                    "tags": ["t"],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Missing"}
                                }
                            },
                        }
                    },
                }
            }
        },
    }
    errors = [f for f in lint(document, tmp_path) if f["severity"] == 0]
    assert errors, "spectral found no error in a document with a dangling $ref"
