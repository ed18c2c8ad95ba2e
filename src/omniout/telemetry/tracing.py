"""Traces: the tracer provider, its export, and the service's propagator.

:func:`setup_tracing` builds one SDK tracer provider from the standard
``OTEL_*`` variables, which the SDK and the OTLP exporters read themselves:
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` for the resource,
``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``, ``..._PROTOCOL`` (``http/protobuf``
or ``grpc``), ``..._HEADERS`` and ``..._TIMEOUT`` for the export,
``OTEL_BSP_*`` for the batch processor, ``OTEL_TRACES_SAMPLER`` for sampling
and ``OTEL_PROPAGATORS`` for the headers that carry trace context (see
:mod:`omniout.telemetry.propagation`). ``OTEL_SDK_DISABLED=true`` turns
tracing off (no spans, no trace context out). Without an endpoint, spans are
still made, so trace ids reach the logs and trace context the receivers, but
nothing is exported.

The provider and the propagator are passed to the parts that trace rather
than installed as the global ones, so that a process (a test run) may hold
several services, each with its own resource and formats. Telemetry never
breaks the work: export failures are logged, never raised, and a full export
queue drops spans.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Tracer

from omniout.errors import ConfigError
from omniout.telemetry.propagation import bind, propagator_from_env

__all__ = ["Tracing", "otlp_protocol", "service_resource", "setup_tracing"]

logger = logging.getLogger(__name__)

_PROTOCOLS = ("http/protobuf", "grpc")
_WARN_EVERY = 60.0  # seconds between two warnings about failed exports


class _SpanOff:
    """The context of a span that is not made: nothing to enter or leave."""

    __slots__ = ()

    def __enter__(self) -> trace.Span:
        return trace.INVALID_SPAN

    def __exit__(self, *exc_info: object) -> None:
        return None


_SPAN_OFF = _SpanOff()


class _TracingOff(trace.NoOpTracer):
    """The tracer when tracing is off: a span costs one method call.

    OpenTelemetry's own no-op tracer still makes each span the current one,
    a context switch per span that the event path pays ten times an event;
    this one leaves the context alone, so nothing is traced and no trace
    context goes out.
    """

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return trace.INVALID_SPAN

    def start_as_current_span(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> _SpanOff:
        return _SPAN_OFF


class Tracing:
    """A tracer and the provider behind it; call :meth:`shutdown` once, at stop.

    ``shutdown`` exports what is queued (waiting at most the exporter's
    timeout) and may block, so async callers run it in a thread.
    """

    def __init__(
        self,
        provider: TracerProvider | None,
        propagator: TextMapPropagator | None = None,
    ) -> None:
        self._provider = provider
        self.tracer: Tracer = (
            _TracingOff() if provider is None else provider.get_tracer("omniout")
        )
        self.propagator = propagator or propagator_from_env({})
        bind(self.tracer, self.propagator)

    @property
    def enabled(self) -> bool:
        return self._provider is not None

    def shutdown(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()
            self._provider = None


def setup_tracing(
    default_service: str = "omniout", environ: Mapping[str, str] = os.environ
) -> Tracing:
    """Build tracing from ``OTEL_*`` variables; raise ConfigError on bad ones."""
    propagator = propagator_from_env(environ)
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        logger.info("Tracing is off (OTEL_SDK_DISABLED)")
        return Tracing(None, propagator)
    exporter = _exporter(environ)
    provider = TracerProvider(resource=service_resource(default_service))
    if exporter is not None:
        # The SDK bounds the queue (OTEL_BSP_MAX_QUEUE_SIZE, 2048 by default)
        # and drops spans beyond it rather than slowing the events down.
        provider.add_span_processor(BatchSpanProcessor(_GuardedExporter(exporter)))
    return Tracing(provider, propagator)


def service_resource(default_service: str) -> Resource:
    """The resource from ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``.

    Without a service name there, ``default_service`` names the service.
    """
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: default_service}))
    return resource


def otlp_protocol(environ: Mapping[str, str], signal: str) -> str:
    """The OTLP protocol of one signal (``TRACES``, ``METRICS``).

    The signal's variable wins over the general one, as the specification
    says; neither set means ``http/protobuf``. Another value than
    ``http/protobuf`` or ``grpc`` is a ConfigError naming its variable.
    """
    for variable in (
        f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ):
        value = environ.get(variable, "").strip().lower()
        if not value:
            continue
        if value not in _PROTOCOLS:
            raise ConfigError("environment", variable, "must be http/protobuf or grpc")
        return value
    return "http/protobuf"


def _exporter(environ: Mapping[str, str]) -> SpanExporter | None:
    kind = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if kind == "none":
        logger.info("Traces are not exported (OTEL_TRACES_EXPORTER=none)")
        return None
    if kind != "otlp":
        raise ConfigError("environment", "OTEL_TRACES_EXPORTER", "must be otlp or none")
    protocol = otlp_protocol(environ, "TRACES")
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint:
        logger.info("Traces are not exported: no OTEL_EXPORTER_OTLP_ENDPOINT")
        return None
    # Imported here: an exporter pulls in protobuf and requests or grpcio,
    # which a process that exports nothing, or uses the other, need not load.
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        logger.info("Exporting traces over OTLP/gRPC")
        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    logger.info("Exporting traces over OTLP/HTTP")
    return HttpExporter()


class _GuardedExporter(SpanExporter):
    """Turns every export failure into a log line; spans are then dropped.

    A warning at most once a minute (a collector that is down fails every
    batch), the details at debug.
    """

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner
        self._warned_at = -_WARN_EVERY

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception as exc:  # an exporter must never break the work
            logger.debug("Trace export raised: %r", exc)
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.FAILURE:
            self._warn(len(spans))
        return result

    def _warn(self, count: int) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            logger.warning("Trace export failed; %d span(s) dropped", count)
        else:
            logger.debug("Trace export failed; %d span(s) dropped", count)

    def shutdown(self) -> None:
        try:
            self._inner.shutdown()
        except Exception as exc:
            logger.debug("Trace exporter shutdown raised: %r", exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return self._inner.force_flush(timeout_millis)
        except Exception as exc:
            logger.debug("Trace exporter flush raised: %r", exc)
            return False
