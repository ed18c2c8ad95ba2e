"""OTEL_PROPAGATORS: which headers carry trace context, in Kafka and HTTP."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NoOpTracer

from omniout.deadletter import DeadLetter, dead_letter_headers
from omniout.errors import ConfigError, DecodeError
from omniout.telemetry.propagation import (
    bind,
    continued,
    http_trace_headers,
    kafka_context,
    kafka_trace_headers,
    propagator_from_env,
    propagator_of,
)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"


@pytest.mark.parametrize(
    ("value", "fields"),
    [
        ("", {"traceparent", "tracestate", "baggage"}),
        ("tracecontext", {"traceparent", "tracestate"}),
        ("b3", {"b3"}),
        ("b3multi", {"x-b3-traceid", "x-b3-spanid", "x-b3-sampled"}),
        (
            " B3Multi , b3multi,baggage ",
            {"x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "baggage"},
        ),
        ("none", set()),
    ],
)
def test_the_variable_names_the_headers_written(
    value: str, fields: set[str]
) -> None:
    propagator = propagator_from_env({"OTEL_PROPAGATORS": value})

    assert propagator.fields == fields


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("tracecontext,jaeger", "unknown propagator 'jaeger'"),
        ("xray", "known: tracecontext, baggage, b3, b3multi, none"),
        ("none,b3", "none cannot be combined"),
    ],
)
def test_an_unknown_or_contradictory_propagator_is_a_config_error(
    value: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        propagator_from_env({"OTEL_PROPAGATORS": value})

    assert caught.value.file == "environment"
    assert caught.value.key == "OTEL_PROPAGATORS"
    assert reason in caught.value.reason


def test_the_error_names_the_variable_and_the_known_propagators() -> None:
    with pytest.raises(ConfigError) as caught:
        propagator_from_env({"OTEL_PROPAGATORS": "jaeger"})

    assert str(caught.value) == (
        "environment: OTEL_PROPAGATORS: unknown propagator 'jaeger' "
        "(known: tracecontext, baggage, b3, b3multi, none)"
    )


def test_b3_context_survives_a_trip_through_kafka_headers() -> None:
    tracer = TracerProvider().get_tracer("test")
    propagator = propagator_from_env({"OTEL_PROPAGATORS": "b3multi"})
    with tracer.start_as_current_span("publish") as span:
        headers = kafka_trace_headers(span, propagator)
    sent = span.get_span_context()

    context = kafka_context([("other", b"1"), *headers], propagator)
    with tracer.start_as_current_span("process", context=context) as child:
        parent = child.parent  # type: ignore[attr-defined]

    assert dict(headers) == {
        "x-b3-traceid": f"{sent.trace_id:032x}".encode(),
        "x-b3-spanid": f"{sent.span_id:016x}".encode(),
        "x-b3-sampled": b"1",
    }
    assert parent.span_id == sent.span_id
    assert child.get_span_context().trace_id == sent.trace_id
    assert kafka_context(None, propagator) is None


def test_b3_header_names_from_a_producer_are_matched_in_any_case() -> None:
    propagator = propagator_from_env({"OTEL_PROPAGATORS": "b3multi"})
    headers = [
        ("X-B3-TraceId", TRACE_ID.encode()),
        ("X-B3-SpanId", SPAN_ID.encode()),
        ("X-B3-Sampled", b"1"),
    ]

    context = kafka_context(headers, propagator)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("process", context=context) as child:
        parent = child.parent  # type: ignore[attr-defined]

    assert f"{parent.trace_id:032x}" == TRACE_ID
    assert f"{parent.span_id:016x}" == SPAN_ID


def test_the_single_b3_header_is_read_and_written() -> None:
    propagator = propagator_from_env({"OTEL_PROPAGATORS": "b3"})
    context = kafka_context([("b3", f"{TRACE_ID}-{SPAN_ID}-1".encode())], propagator)
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("attempt", context=context):
        sent = http_trace_headers(propagator)

    assert list(sent) == ["b3"]
    assert sent["b3"].startswith(f"{TRACE_ID}-")
    assert sent["b3"].endswith("-1")


def test_baggage_a_record_carried_goes_on_with_the_requests_it_leads_to() -> None:
    propagator = propagator_from_env({})
    headers = [
        ("traceparent", f"00-{TRACE_ID}-{SPAN_ID}-01".encode()),
        ("baggage", b"tenant=acme"),
    ]
    tracer = TracerProvider().get_tracer("test")

    with (
        continued(kafka_context(headers, propagator)),
        tracer.start_as_current_span("process"),
    ):
        sent = http_trace_headers(propagator)
        assert baggage.get_baggage("tenant") == "acme"

    assert sent["baggage"] == "tenant=acme"
    assert sent["traceparent"].split("-")[1] == TRACE_ID
    assert baggage.get_baggage("tenant", otel_context.get_current()) is None


def test_a_tracer_no_service_set_up_uses_the_default_formats() -> None:
    bound, loose = NoOpTracer(), NoOpTracer()
    b3 = propagator_from_env({"OTEL_PROPAGATORS": "b3"})

    bind(bound, b3)

    assert propagator_of(bound) is b3
    assert propagator_of(loose).fields == {"traceparent", "tracestate", "baggage"}


@dataclass(frozen=True, slots=True)
class _Record:
    topic: str = "orders"
    partition: int = 0
    offset: int = 7
    timestamp: int = 0
    key: bytes | None = b"k"
    value: bytes | None = b"v"
    headers: tuple[tuple[str, bytes], ...] = ()


def test_a_dead_letter_carries_its_own_context_and_drops_the_producers() -> None:
    record = _Record(
        headers=(
            ("x-tenant", b"acme"),
            ("traceparent", f"00-{TRACE_ID}-{SPAN_ID}-01".encode()),
            ("X-B3-TraceId", TRACE_ID.encode()),
            ("X-B3-SpanId", SPAN_ID.encode()),
            ("baggage", b"tenant=acme"),
        )
    )
    own = (("x-b3-traceid", b"1" * 32), ("x-b3-spanid", b"2" * 16))
    letter = DeadLetter(record, DecodeError("bad"), trace_headers=own)

    headers = dead_letter_headers(letter)

    names = [name for name, _ in headers]
    assert names[:2] == ["x-tenant", "baggage"]
    assert headers[-2:] == list(own)
    assert "traceparent" not in names
    assert "X-B3-TraceId" not in names
