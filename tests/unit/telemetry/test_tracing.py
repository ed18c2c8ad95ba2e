"""Tracing set up from OTEL_* variables, and trace context in Kafka headers."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import NoOpTracer

from omniout.errors import ConfigError
from omniout.telemetry.tracing import (
    _GuardedExporter,
    kafka_context,
    kafka_trace_headers,
    setup_tracing,
    traceparent,
)


def test_sdk_disabled_gives_a_tracer_that_records_nothing() -> None:
    tracing = setup_tracing(environ={"OTEL_SDK_DISABLED": "true"})

    assert not tracing.enabled
    assert isinstance(tracing.tracer, NoOpTracer)
    with tracing.tracer.start_as_current_span("x") as span:
        assert traceparent(span) is None
    tracing.shutdown()


def test_without_an_endpoint_spans_still_get_ids_but_are_not_exported() -> None:
    tracing = setup_tracing(environ={})

    with tracing.tracer.start_as_current_span("x") as span:
        assert span.get_span_context().is_valid
        assert traceparent(span) is not None
    assert tracing.enabled
    tracing.shutdown()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
    ],
)
def test_an_unsupported_exporter_setting_is_a_config_error(
    variable: str, value: str
) -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", variable: value}

    with pytest.raises(ConfigError) as caught:
        setup_tracing(environ=environ)

    assert caught.value.key == variable


def test_the_service_name_comes_from_the_environment_or_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    default = setup_tracing("omniout-x", environ={})
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-out")
    named = setup_tracing("omniout-x", environ={})

    assert _service(default) == "omniout-x"
    assert _service(named) == "billing-out"
    default.shutdown()
    named.shutdown()


def _service(tracing: object) -> object:
    provider = tracing._provider  # type: ignore[attr-defined]
    assert isinstance(provider, TracerProvider)
    return provider.resource.attributes["service.name"]


def test_trace_context_survives_a_trip_through_kafka_headers() -> None:
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("publish") as span:
        headers = kafka_trace_headers(span)
    record_headers = [("other", b"1"), *headers]

    context = kafka_context(record_headers)
    with tracer.start_as_current_span("process", context=context) as child:
        parent = child.parent  # type: ignore[attr-defined]

    assert [name for name, _ in headers] == ["traceparent"]
    assert parent.span_id == span.get_span_context().span_id
    assert child.get_span_context().trace_id == span.get_span_context().trace_id
    assert kafka_context(None) is None


class _Broken(SpanExporter):
    def __init__(self, result: SpanExportResult | None) -> None:
        self.result = result

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.result is None:
            raise ConnectionError("collector down")
        return self.result

    def shutdown(self) -> None:
        raise RuntimeError("already shut")


def test_export_failures_are_logged_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    raising = _GuardedExporter(_Broken(None))
    failing = _GuardedExporter(_Broken(SpanExportResult.FAILURE))

    with caplog.at_level("DEBUG", logger="omniout.telemetry.tracing"):
        assert raising.export([]) is SpanExportResult.FAILURE
        assert failing.export([]) is SpanExportResult.FAILURE
        failing.export([])
        raising.shutdown()

    levels = [r.levelname for r in caplog.records if "dropped" in r.getMessage()]
    # One warning per exporter a minute; the repeats at debug.
    assert levels == ["WARNING", "WARNING", "DEBUG"]
