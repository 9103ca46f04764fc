"""Logging for the long-running commands: one JSON object per line on stderr."""

from __future__ import annotations

import logging
import sys
from typing import Any

from .._json import dumps_text

__all__ = ["JsonFormatter", "setup_logging"]


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message and fields.

    >>> record = logging.LogRecord("eventmask", logging.INFO, "", 0, "ready", None, None)
    >>> JsonFormatter().format(record).startswith('{"ts":')
    True
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        doc: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update(fields)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return dumps_text(doc)


def setup_logging(level: str = "info") -> None:
    """Structured (JSON lines) logging on stderr for eventmask and uvicorn."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("eventmask", "uvicorn", "uvicorn.error", "psycopg.pool"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # the receiver logs each delivery
