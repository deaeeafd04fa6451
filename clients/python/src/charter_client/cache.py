"""The client's cache on disk: files only its user may read, replaced atomically.

A write goes to a fresh temporary file in the same directory (mode 0600), is flushed to disk,
then renamed over the old file, so a crash leaves the old content or the new, never half of
either. The directory is made 0700.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


class Cache:
    """Named JSON and text entries under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        return self.directory / name

    def read_text(self, name: str) -> str | None:
        """The entry ``name``, or ``None`` when there is none (or it cannot be read)."""
        try:
            return self._path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeError):
            return None

    def read_json(self, name: str) -> dict[str, Any] | None:
        """The JSON object in entry ``name``, or ``None`` when absent or damaged."""
        text = self.read_text(name)
        if text is None:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def write_text(self, name: str, text: str) -> None:
        """Replace entry ``name`` with ``text``, atomically, readable by this user alone."""
        self.directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=self.directory)
        try:
            os.fchmod(descriptor, FILE_MODE)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temporary).replace(self._path(name))
        except BaseException:
            with contextlib.suppress(OSError):
                Path(temporary).unlink()
            raise

    def write_json(self, name: str, value: dict[str, Any]) -> None:
        """Replace entry ``name`` with ``value`` as JSON."""
        self.write_text(name, json.dumps(value, separators=(",", ":"), sort_keys=True))

    def delete(self, name: str) -> None:
        """Remove entry ``name`` if it exists."""
        with contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()
