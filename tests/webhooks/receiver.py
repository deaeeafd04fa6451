"""A real HTTP receiver for webhooks, in a thread on a free loopback port, and the signature
checks exactly as the README shows them to users: Charter's own, and Standard Webhooks' with
its library."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


def verify_charter_signature(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    # The README's snippet, unchanged.
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in fields if key == "t"]
    signatures = [value for key, value in fields if key == "v1"]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        return False
    if abs(time.time() - int(timestamps[0])) > tolerance:
        return False
    signed = timestamps[0].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def standard_secret(secret: str) -> str:
    # The README's snippet, unchanged.
    if secret.endswith("="):
        return secret  # issued as Standard Webhooks spells secrets
    # Issued earlier: URL-safe base64 without padding. The same key, spelled the standard way:
    return "whsec_" + secret[6:].replace("-", "+").replace("_", "/") + "="


def verify_standard_webhook(body: bytes, headers: dict[str, str], secret: str) -> bool:
    # The README's snippet, unchanged.
    try:
        Webhook(standard_secret(secret)).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None = None  # both signatures checked out (None: not checked)

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers["charter-delivery"]


@dataclass
class Receiver:
    """Records every request; answers ``status`` (503 while 'down') after ``delay`` seconds.

    With a ``secret``, it checks both signatures of each request as the README shows, and
    answers 401 unless both match.
    """

    status: int = 200
    delay: float = 0.0
    secret: str | None = None
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                received = Received(self.path, headers, body)
                secret = receiver.secret
                if secret is not None:
                    signature = headers.get("charter-signature", "")
                    received.verified = verify_standard_webhook(
                        body, headers, secret
                    ) and verify_charter_signature(signature, body, secret)
                with receiver.lock:
                    receiver.requests.append(received)
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(401 if received.verified is False else receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def deliveries(self) -> list[str]:
        with self.lock:
            return [request.delivery for request in self.requests]
