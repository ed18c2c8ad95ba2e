"""Tracing set up from OTEL_* variables: provider, exporter, propagator."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import NoOpTracer

from omniout.errors import ConfigError
from omniout.telemetry.propagation import http_trace_headers, propagator_of
from omniout.telemetry.tracing import _exporter, _GuardedExporter, setup_tracing


def test_sdk_disabled_gives_a_tracer_that_records_nothing() -> None:
    tracing = setup_tracing(environ={"OTEL_SDK_DISABLED": "true"})

    assert not tracing.enabled
    assert isinstance(tracing.tracer, NoOpTracer)
    with tracing.tracer.start_as_current_span("x"):
        assert http_trace_headers(tracing.propagator) == {}
    tracing.shutdown()


def test_without_an_endpoint_spans_still_get_ids_but_are_not_exported() -> None:
    tracing = setup_tracing(environ={})

    with tracing.tracer.start_as_current_span("x") as span:
        assert span.get_span_context().is_valid
        assert "traceparent" in http_trace_headers(tracing.propagator)
    assert tracing.enabled
    tracing.shutdown()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc-web"),
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


@pytest.mark.parametrize(
    ("environ", "module"),
    [
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc"),
        ({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "GRPC"}, "grpc"),
        ({}, "http"),
        (
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            },
            "http",
        ),
    ],
)
def test_the_protocol_picks_the_exporter_and_the_traces_variable_wins(
    environ: dict[str, str], module: str
) -> None:
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}

    exporter = _exporter({**endpoint, **environ})

    assert exporter is not None
    assert type(exporter).__module__.startswith(
        f"opentelemetry.exporter.otlp.proto.{module}."
    )
    exporter.shutdown()


def test_each_service_keeps_the_propagator_its_environment_named() -> None:
    b3 = setup_tracing(environ={"OTEL_PROPAGATORS": "b3multi"})
    w3c = setup_tracing(environ={})

    with b3.tracer.start_as_current_span("b3"):
        sent_b3 = http_trace_headers(propagator_of(b3.tracer))
    with w3c.tracer.start_as_current_span("w3c"):
        sent_w3c = http_trace_headers(propagator_of(w3c.tracer))

    assert sorted(sent_b3) == ["x-b3-sampled", "x-b3-spanid", "x-b3-traceid"]
    assert sorted(sent_w3c) == ["traceparent"]
    b3.shutdown()
    w3c.shutdown()


def test_an_unknown_propagator_stops_start_up_even_with_tracing_off() -> None:
    environ = {"OTEL_SDK_DISABLED": "true", "OTEL_PROPAGATORS": "jaeger"}

    with pytest.raises(ConfigError) as caught:
        setup_tracing(environ=environ)

    assert caught.value.key == "OTEL_PROPAGATORS"


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


def test_a_grpc_collector_that_is_not_there_costs_a_warning_not_an_exception(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more; one second bounds the retries.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    exporter = _exporter(
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        }
    )
    assert exporter is not None
    guarded = _GuardedExporter(exporter)
    with TracerProvider().get_tracer("test").start_as_current_span("x") as span:
        pass
    assert isinstance(span, ReadableSpan)

    with caplog.at_level("WARNING", logger="omniout.telemetry.tracing"):
        assert guarded.export([span]) is SpanExportResult.FAILURE
    guarded.shutdown()

    assert [r.getMessage() for r in caplog.records if r.name.startswith("omniout")] == [
        "Trace export failed; 1 span(s) dropped"
    ]
