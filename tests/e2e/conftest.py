"""Browser fixtures: Playwright driving Debian's Chromium (never a downloaded browser).

The app runs under a real Uvicorn (``live_server``); a second tiny HTTP server on another port
plays a partner's website, so the embed widget is framed across origins as it is in real life.
``make browser`` installs /usr/bin/chromium; without it these tests are skipped, saying why.
Screenshots go to a temporary directory, or to ``CHARTER_E2E_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from charter.config import Settings
from tests.servers import uvicorn_serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SKIP_REASON = f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"


@pytest.fixture
def settings(settings: Settings, port: int) -> Settings:
    """Test settings whose public URL is the live server's, so every link works as served."""
    return settings.model_copy(
        update={"public_url": f"http://127.0.0.1:{port}", "issuer_name": "Contoso Software"}
    )


@pytest.fixture
def live_server(app: Any, port: int) -> Iterator[str]:
    """The app under a real Uvicorn at its public URL; yields that URL."""
    with uvicorn_serving(app, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser tab (own cookies and storage) that fails the test on script errors."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message: Any) -> None:
        # Failed loads are reported with their URL by on_response below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(response: Any) -> None:
        # Browsers ask every origin for /favicon.ico on their own; neither site has one.
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            errors.append(f"HTTP {response.status} for {response.url}")

    tab.on("console", on_console)
    tab.on("response", on_response)
    yield tab
    context.close()
    assert not errors, f"the page reported errors: {errors}"


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots are saved."""
    chosen = os.environ.get("CHARTER_E2E_SCREENSHOTS")
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


class PartnerSite:
    """A partner's web page embedding Charter's widgets, on an origin of its own."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site.pages.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet test output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def embedding(self, path: str, snippet: str) -> str:
        """Publish a page at ``path`` holding ``snippet`` (as a partner pastes it); its URL."""
        self.pages[path] = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Northwind Consulting"
            "</title></head><body style='font-family:sans-serif'>"
            "<h1>Northwind Consulting</h1><p>Our certified team:</p>"
            f"{snippet}</body></html>"
        )
        return self.url + path

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def partner_site() -> Iterator[PartnerSite]:
    """A partner's website on its own origin."""
    site = PartnerSite()
    yield site
    site.close()
