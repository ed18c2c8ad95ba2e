"""Log lines an operator can grep.

Library modules log with ``extra=`` context (route, topic, partition, offset,
request id); the formatters here, installed once by the command line, put
that context at the end of a text line or into a JSON object. The trace id
comes from the span current when the line is logged, through a filter.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Literal

import orjson
from opentelemetry import trace

__all__ = [
    "CONTEXT_FIELDS",
    "JsonFormatter",
    "TextFormatter",
    "TraceIdFilter",
    "configure_logging",
]

CONTEXT_FIELDS = ("route", "topic", "partition", "offset", "request_id", "trace_id")


def _context(record: logging.LogRecord) -> dict[str, object]:
    found = {name: getattr(record, name, None) for name in CONTEXT_FIELDS}
    return {name: value for name, value in found.items() if value not in (None, "")}


class TraceIdFilter(logging.Filter):
    """Adds ``trace_id`` (32 hex digits) when a span is current."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None) is None:
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                record.trace_id = format(context.trace_id, "032x")
        return True


class _OpenTelemetryAtDebug(logging.Filter):
    """Passes the OpenTelemetry SDK's own records at debug level only.

    Its exporters log every failed export as an error; omniout reports those
    itself (at most once a minute, as a warning), and telemetry trouble must
    not read like a failure of the work.
    """

    def __init__(self, level: int) -> None:
        super().__init__()
        self._show = level <= logging.DEBUG

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("opentelemetry."):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self._show


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
    handler.addFilter(TraceIdFilter())
    handler.addFilter(_OpenTelemetryAtDebug(level))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka reports every coordinator hiccup at warning or error level,
    # and httpx logs each request at info: omniout logs deliveries itself.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
