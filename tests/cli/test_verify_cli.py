"""``charter verify``: files and baked images, offline documents, exit codes, JSON output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from charter.cli.main import app
from charter.config import get_settings
from charter.credentials import baking, statuslist
from tests.credentials.test_verify import (
    LIST_URL,
    badge,
    did_key_signer,
    did_web_signer,
    ob_example,
    signed_list,
)

NOW = "2025-06-01T00:00:00Z"
Run = Callable[..., Result]


@pytest.fixture
def verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Run ``charter verify ARGS...`` with the data directory (and its cache) under tmp_path."""
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, ["verify", *args])

    yield run
    get_settings.cache_clear()


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return str(path)


def test_valid_json_file_exits_0_and_prints_every_check(verify: Run, tmp_path: Path) -> None:
    signer = did_key_signer()
    path = write(tmp_path, "badge.json", signer.sign(badge(signer.did)))
    result = verify(path, "--offline", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "✓ VALID" in result.output
    assert "Acme Certified Cloud Architect" in result.output
    assert "Acme Software Partner Program" in result.output
    assert f"({signer.did})" in result.output  # printed as is (no ":key:" emoji)
    for name in ("contexts", "types", "schema", "safe_mode", "proof", "controller", "dates"):
        assert f"✓ {name}" in result.output


def test_expired_badge_exits_1_with_the_reason(verify: Run, tmp_path: Path) -> None:
    signer = did_key_signer()
    path = write(tmp_path, "badge.json", signer.sign(badge(signer.did)))
    result = verify(path, "--offline", "--now", "2030-01-01T00:00:00+00:00")
    assert result.exit_code == 1
    assert "✗ EXPIRED: expired on 2027-01-15T09:30:00Z" in result.output
    assert "✗ dates" in result.output


def test_baked_png_and_svg_are_read(verify: Run, tmp_path: Path) -> None:
    signer = did_key_signer()
    text = json.dumps(signer.sign(badge(signer.did)))
    png = baking.bake_png(baking.default_badge_png("Cloud Architect", "Acme", "#1f6feb"), text)
    svg = baking.bake_svg(baking.default_badge_svg("Cloud Architect", "Acme"), text)
    # Names without the right extension: the content decides.
    for name, data in (("badge.bin", png), ("badge.dat", svg)):
        result = verify(write(tmp_path, name, data), "--offline", "--now", NOW)
        assert result.exit_code == 0, result.output


def test_json_output_is_the_verdict(verify: Run, tmp_path: Path) -> None:
    signer = did_key_signer()
    signed = signer.sign(badge(signer.did))
    signed["name"] = "Edited after signing"
    result = verify(write(tmp_path, "badge.json", signed), "--offline", "--now", NOW, "--json")
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert verdict["status"] == "invalid"
    assert [c["name"] for c in verdict["checks"] if not c["ok"]] == [
        "proof",
        "controller",
        "status",
    ]


def test_documents_supplied_as_files_resolve_did_web_and_status(
    verify: Run, tmp_path: Path
) -> None:
    signer = did_web_signer()
    entry = statuslist.status_entry(LIST_URL, 77, "revocation")
    path = write(tmp_path, "badge.json", signer.sign(badge(signer.did, status=entry)))
    did_url, did_doc = next(iter(signer.documents.items()))
    did_file = write(tmp_path, "did.json", did_doc)
    list_file = write(tmp_path, "list.json", signed_list(signer, set_indexes=(77,)))

    missing = verify(path, "--offline", "--now", NOW)
    assert missing.exit_code == 1
    assert "not cached and the verifier is offline" in missing.output

    result = verify(
        path,
        "--offline",
        "--now",
        NOW,
        "--document",
        f"{did_url}={did_file}",
        "--document",
        f"{LIST_URL}={list_file}",
    )
    assert result.exit_code == 1, result.output
    assert "✗ REVOKED" in result.output


def test_1edtech_example_verifies_with_its_controller_document(verify: Run, tmp_path: Path) -> None:
    example, documents = ob_example()
    ((url, controller),) = documents.items()
    result = verify(
        write(tmp_path, "ob.json", example),
        "--offline",
        "--document",
        f"{url}={write(tmp_path, 'issuer.json', controller)}",
    )
    assert result.exit_code == 0, result.output


def test_url_given_as_a_document_is_read_offline(verify: Run, tmp_path: Path) -> None:
    signer = did_key_signer()
    url = "https://partners.acme.example/credentials/1"
    file_name = write(tmp_path, "badge.json", signer.sign(badge(signer.did)))
    assert verify(url, "--offline", "--now", NOW, "--document", f"{url}={file_name}").exit_code == 0
    refused = verify(url, "--offline")
    assert refused.exit_code == 1
    assert "error: url: cannot fetch a URL with --offline" in refused.output


@pytest.mark.parametrize(
    "content",
    [b"GIF89a not a badge", b'{"just": "json"}', b"[1, 2, 3", b"\x89PNG\r\n\x1a\n"],
)
def test_unreadable_input_is_one_error_line(verify: Run, tmp_path: Path, content: bytes) -> None:
    result = verify(write(tmp_path, "thing", content), "--offline")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: file: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["missing-file.json"],
        ["{file}", "--now", "yesterday"],
        ["{file}", "--now", "2025-06-01T00:00:00"],
        ["{file}", "--document", "no-equals-sign"],
        ["{file}", "--document", "https://a.example/x={missing}"],
        [],
    ],
)
def test_usage_errors_exit_2(verify: Run, tmp_path: Path, args: list[str]) -> None:
    signer = did_key_signer()
    file_name = write(tmp_path, "badge.json", signer.sign(badge(signer.did)))
    filled = [a.format(file=file_name, missing=tmp_path / "nope.json") for a in args]
    result = verify(*filled, "--offline")
    assert result.exit_code == 2, result.output


def test_cache_written_online_is_used_offline(verify: Run, tmp_path: Path) -> None:
    # A document fetched earlier (here: put in the cache by the resolver itself) serves offline.
    import httpx

    from charter.cli.verify import cache_dir
    from charter.credentials.resolver import HttpResolver

    signer = did_web_signer()
    did_url, did_doc = next(iter(signer.documents.items()))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=did_doc)

    online = HttpResolver(httpx.Client(transport=httpx.MockTransport(handler)), cache_dir())
    online.fetch_json(did_url)
    path = write(tmp_path, "badge.json", signer.sign(badge(signer.did)))
    result = verify(path, "--offline", "--now", NOW)
    assert result.exit_code == 0, result.output
