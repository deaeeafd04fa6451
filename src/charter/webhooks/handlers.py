"""Worker handlers for webhooks: registered with :mod:`charter.worker.registry` on import."""

from __future__ import annotations
