"""``charter verify FILE|URL``: verify a credential (JSON, baked PNG or SVG), offline if asked.

Exit status 0 only for a valid credential, 1 for any other verdict or unreadable input, 2 for
usage errors. It needs no database: keys and status lists come from did:key, the document
cache under the data directory, ``--document`` files, and (unless ``--offline``) the network.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from charter.cli.common import console
from charter.config import get_settings
from charter.core import clock
from charter.core.errors import Invalid

if TYPE_CHECKING:
    import httpx

    from charter.credentials.verify import Verdict

# The verifier's modules (pyld, lxml, jsonschema, httpx) are imported when the command runs, so
# that every other command starts without them.
MAX_INPUT_BYTES = 16 * 1024 * 1024
FETCH_TIMEOUT_S = 15.0
CREDENTIAL_ACCEPT = (
    "application/vc+ld+json, application/ld+json;q=0.9, application/json;q=0.8, "
    "image/png;q=0.5, image/svg+xml;q=0.5"
)
MARKS = {True: "✓", False: "✗"}
STATUS_LABELS = {
    "valid": "VALID",
    "expired": "EXPIRED",
    "not_yet_valid": "NOT YET VALID",
    "revoked": "REVOKED",
    "suspended": "SUSPENDED",
    "invalid": "INVALID",
}


def cache_dir() -> Path:
    """Where fetched key documents and status lists are kept for offline use."""
    return get_settings().data_dir / "cache" / "documents"


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return clock.now()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date-time", param_hint="--now"
        ) from error
    if moment.tzinfo is None:
        raise typer.BadParameter("give a timezone, e.g. 2025-06-01T00:00:00Z", param_hint="--now")
    return moment


def _read_json_file(path: Path, hint: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        raise typer.BadParameter(
            f"cannot read {path}: {error.strerror}", param_hint=hint
        ) from error
    except ValueError as error:
        raise typer.BadParameter(f"{path} is not JSON: {error}", param_hint=hint) from error
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} is not a JSON object", param_hint=hint)
    return data


def _documents(pairs: list[str]) -> dict[str, dict[str, Any]]:
    documents = {}
    for pair in pairs:
        url, sep, file_name = pair.rpartition("=")
        if not sep or not url or not file_name:
            raise typer.BadParameter(f"{pair!r}: expected URL=FILE", param_hint="--document")
        documents[url] = _read_json_file(Path(file_name), "--document")
    return documents


def _fetch(client: httpx.Client, url: str) -> bytes:
    import httpx

    from charter.credentials.resolver import ResolveError, check_fetchable

    try:
        check_fetchable(url)
        with client.stream("GET", url, headers={"Accept": CREDENTIAL_ACCEPT}) as response:
            if response.status_code != 200:
                raise Invalid.field("url", f"{url} answered HTTP {response.status_code}")
            data = b""
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_INPUT_BYTES:
                    raise Invalid.field("url", f"{url} is larger than Charter accepts")
            return data
    except ResolveError as error:
        raise Invalid.field("url", str(error)) from error
    except httpx.HTTPError as error:
        raise Invalid.field("url", f"{url} cannot be fetched: {error}") from error


def _read_source(
    source: str,
    documents: dict[str, dict[str, Any]],
    client: httpx.Client | None,
) -> bytes:
    if source.startswith(("https://", "http://")):
        if source in documents:
            return json.dumps(documents[source]).encode("utf-8")
        if client is None:
            raise Invalid.field("url", "cannot fetch a URL with --offline; download it first")
        return _fetch(client, source)
    path = Path(source)
    if not path.is_file():
        raise typer.BadParameter(f"{source} is not a file or an http(s) URL", param_hint="FILE|URL")
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise Invalid.field("file", f"{source} is larger than Charter accepts")
    return path.read_bytes()


def load_credential(data: bytes) -> dict[str, Any]:
    """The credential in a JSON file, baked PNG or baked SVG; :class:`Invalid` if there is none."""
    from charter.credentials import baking
    from charter.credentials.verify import looks_like_credential

    _, text = baking.extract(data)
    if text.startswith("ey") and text.count(".") == 2:
        raise Invalid.field("file", "VC-JWT (compact JWS) credentials are not supported")
    try:
        document = json.loads(text)
    except ValueError as error:
        raise Invalid.field("file", f"the credential is not valid JSON: {error}") from error
    if not looks_like_credential(document):
        raise Invalid.field("file", "not a credential (no @context, type, subject or proof)")
    result: dict[str, Any] = document
    return result


def print_verdict(verdict: Verdict) -> None:
    """A readable verdict: the status, what the credential says, and every check."""
    out = console()
    label = STATUS_LABELS[verdict.status]
    style = "bold green" if verdict.valid else "bold red"
    headline = f"{MARKS[verdict.valid]} {label}"
    if verdict.reason:
        headline += f": {verdict.reason}"
    out.print(headline, style=style, markup=False, emoji=False)
    issuer = verdict.issuer or "?"
    if verdict.issuer_name:
        issuer = f"{verdict.issuer_name} ({issuer})"
    rows = [
        ("Credential", verdict.credential_id),
        ("Issuer", issuer),
        ("Achievement", verdict.achievement_name),
        ("Subject", verdict.subject),
        ("Valid from", verdict.as_dict()["valid_from"]),
        ("Valid until", verdict.as_dict()["valid_until"] or "no end date"),
    ]
    for name, value in rows:
        if value:
            out.print(f"  {name + ':':<13}{value}", markup=False, emoji=False)
    out.print("Checks:", markup=False, emoji=False)
    for check in verdict.checks:
        out.print(
            f"  {MARKS[check.ok]} {check.name:<11}{check.detail}",
            style="green" if check.ok else "red",
            markup=False,
            emoji=False,
        )


def verify(
    source: Annotated[
        str, typer.Argument(metavar="FILE|URL", help="Credential JSON, baked PNG/SVG, or a URL.")
    ],
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only did:key, the cache and --document files.")
    ] = False,
    now: Annotated[
        str | None, typer.Option("--now", help="Verify as of this ISO 8601 time (with timezone).")
    ] = None,
    document: Annotated[
        list[str] | None,
        typer.Option(
            "--document",
            metavar="URL=FILE",
            help="Use FILE as the document at URL (key, DID document, status list). Repeatable.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Verify an Open Badges 3.0 credential; exit 0 only if it is valid."""
    import httpx

    from charter.credentials.resolver import ChainResolver, HttpResolver, OfflineResolver
    from charter.credentials.verify import verify_credential

    moment = _parse_now(now)
    documents = _documents(document or [])
    client = None if offline else httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=True)
    try:
        credential = load_credential(_read_source(source, documents, client))
        resolver = ChainResolver(
            OfflineResolver(documents), HttpResolver(client, cache_dir=cache_dir())
        )
        verdict = verify_credential(credential, resolver=resolver, now=moment)
    finally:
        if client is not None:
            client.close()
    if as_json:
        typer.echo(json.dumps(verdict.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_verdict(verdict)
    raise typer.Exit(0 if verdict.valid else 1)
