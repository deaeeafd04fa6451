"""Logging set-up for ``charter serve``: plain text or one JSON object a line.

Uvicorn's loggers (``uvicorn.error``, ``uvicorn.access``) and Charter's own go through the
same handler. The access log can be turned off (it costs a few percent of a fast route), or
written as JSON lines that a log shipper reads without parsing prose.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
"""The arguments of a ``uvicorn.access`` record, in order."""


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and an access line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            entry.update(zip(ACCESS_FIELDS, args, strict=True))
            entry["message"] = "request"
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_config(level: str, log_format: LogFormat, *, access_log: bool) -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for Uvicorn and Charter."""
    formatter: dict[str, Any]
    if log_format == "json":
        formatter = {"()": "charter.core.logs.JsonFormatter"}
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {
                "handlers": ["default"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
            "charter": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
