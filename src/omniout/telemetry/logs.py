"""Log lines an operator can grep.

Library modules log with ``extra=`` context (route, topic, partition, offset,
request id); the formatters here, installed once by the command line, put
that context at the end of a text line or into a JSON object.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Literal

import orjson

__all__ = ["CONTEXT_FIELDS", "JsonFormatter", "TextFormatter", "configure_logging"]

CONTEXT_FIELDS = ("route", "topic", "partition", "offset", "request_id", "trace_id")


def _context(record: logging.LogRecord) -> dict[str, object]:
    found = {name: getattr(record, name, None) for name in CONTEXT_FIELDS}
    return {name: value for name, value in found.items() if value not in (None, "")}


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = _context(record)
        if context:
            line += " " + " ".join(f"{k}={v}" for k, v in context.items())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, context fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(
    fmt: Literal["text", "json"] = "text", level: int = logging.INFO
) -> None:
    """Install one handler on the root logger; call once, at the entry point."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka reports every coordinator hiccup at warning or error level,
    # and httpx logs each request at info: omniout logs deliveries itself.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
