"""Worker handlers for notify: registered with :mod:`charter.worker.registry` on import."""

from __future__ import annotations
