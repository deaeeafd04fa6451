"""Uploaded CSV files waiting for their confirmation, kept on the server's disk.

A file is kept from its preview to its confirmation only: under ``<data_dir>/uploads``, named
by a random token, readable by the server's user alone, at most ``MAX_UPLOAD_BYTES``, removed
once confirmed or replaced, and swept after ``KEEP_FOR``. The confirmation names the file's
SHA-256, which must match both the session's record of the preview and the bytes kept, so a
different file can never be confirmed for the one that was previewed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_UPLOAD_BYTES = 1_000_000
"""The largest file the portal takes (under the app's body limit); larger ones: the CLI."""
KEEP_FOR = 3600
"""Seconds an unconfirmed upload is kept."""
SESSION_KEY = "pending_import"


@dataclass(frozen=True, slots=True)
class Pending:
    """An upload previewed and not yet confirmed, as the session records it."""

    token: str
    sha256: str
    kind: str
    file_name: str

    def as_session(self) -> dict[str, str]:
        """The record kept in the signed session cookie."""
        return {
            "token": self.token,
            "sha256": self.sha256,
            "kind": self.kind,
            "file_name": self.file_name,
        }

    @classmethod
    def from_session(cls, value: Any) -> Pending | None:
        """The record read back; ``None`` if there is none or it is malformed."""
        if not isinstance(value, dict):
            return None
        fields = [value.get(name) for name in ("token", "sha256", "kind", "file_name")]
        if not all(isinstance(item, str) and item for item in fields):
            return None
        token, sha256, kind, file_name = (str(item) for item in fields)
        if not token.isalnum():
            return None
        return cls(token, sha256, kind, file_name)


class UploadStore:
    """The directory of pending uploads."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "uploads"

    def _path(self, token: str) -> Path:
        return self.root / f"{token}.csv"

    def keep(self, data: bytes) -> str:
        """Store ``data``; returns its token. Old uploads are swept first."""
        self.sweep()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_hex(16)
        descriptor = os.open(self._path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        return token

    def read(self, token: str, sha256: str) -> bytes | None:
        """The bytes kept under ``token`` if they still hash to ``sha256``; else ``None``."""
        path = self._path(token)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) > MAX_UPLOAD_BYTES or hashlib.sha256(data).hexdigest() != sha256:
            return None
        return data

    def drop(self, token: str) -> None:
        """Remove the upload (confirmed, replaced or abandoned)."""
        self._path(token).unlink(missing_ok=True)

    def sweep(self) -> None:
        """Remove uploads older than ``KEEP_FOR``."""
        if not self.root.is_dir():
            return
        oldest = time.time() - KEEP_FOR
        for path in self.root.glob("*.csv"):
            try:
                if path.stat().st_mtime < oldest:
                    path.unlink(missing_ok=True)
            except OSError:
                continue
