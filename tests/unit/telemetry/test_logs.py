"""Log lines carry the trace id of the span current when they are written."""

from __future__ import annotations

import logging

import orjson
from opentelemetry.sdk.trace import TracerProvider

from omniout.telemetry.logs import JsonFormatter, TextFormatter, TraceIdFilter


def record(**extra: object) -> logging.LogRecord:
    entry = logging.LogRecord(
        "omniout.pipeline", logging.INFO, "", 0, "Delivered", (), None
    )
    for name, value in extra.items():
        setattr(entry, name, value)
    return entry


def test_the_filter_adds_the_current_trace_id() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("process") as span:
        inside = record()
        TraceIdFilter().filter(inside)
    outside = record()
    TraceIdFilter().filter(outside)

    assert inside.trace_id == format(span.get_span_context().trace_id, "032x")  # type: ignore[attr-defined]
    assert not hasattr(outside, "trace_id")


def test_text_and_json_lines_hold_route_position_request_and_trace() -> None:
    context = {
        "route": "orders",
        "topic": "t",
        "partition": 0,
        "offset": 5,
        "request_id": "r-1",
        "trace_id": "ab" * 16,
    }

    text = TextFormatter().format(record(**context))
    entry = orjson.loads(JsonFormatter().format(record(**context)))

    assert text.endswith(
        "Delivered route=orders topic=t partition=0 offset=5 request_id=r-1 "
        f"trace_id={'ab' * 16}"
    )
    assert entry["message"] == "Delivered"
    assert {k: entry[k] for k in context} == context
