"""Traces: the tracer provider, its export, and trace context in Kafka headers.

:func:`setup_tracing` builds one SDK tracer provider from the standard
``OTEL_*`` variables, which the SDK and the OTLP exporter read themselves:
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` for the resource,
``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``, ``..._HEADERS`` and ``..._TIMEOUT`` for
the export, ``OTEL_BSP_*`` for the batch processor, ``OTEL_TRACES_SAMPLER`` for
sampling. ``OTEL_SDK_DISABLED=true`` turns tracing off (no spans, no
``traceparent`` out). Without an endpoint, spans are still made, so trace ids
reach the logs and ``traceparent`` the receivers, but nothing is exported.

The provider is passed to the parts that trace rather than installed as the
global one, so that a process (a test run) may hold several services, each
with its own resource. Telemetry never breaks the work: export failures are
logged, never raised, and a full export queue drops spans.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, MutableSequence, Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Span, Tracer
from opentelemetry.trace.propagation.tracecontext import (
    TraceContextTextMapPropagator,
)

from omniout.errors import ConfigError

__all__ = [
    "KAFKA_HEADERS",
    "W3C",
    "Tracing",
    "kafka_context",
    "kafka_trace_headers",
    "setup_tracing",
    "traceparent",
]

logger = logging.getLogger(__name__)

# Trace context goes out and comes in as W3C Trace Context (traceparent and
# tracestate), whatever OTEL_PROPAGATORS says: receivers are told to expect it.
W3C = TraceContextTextMapPropagator()

_SUPPORTED_PROTOCOL = "http/protobuf"
_WARN_EVERY = 60.0  # seconds between two warnings about failed exports

KafkaHeaders = Sequence[tuple[str, bytes]]


class _KafkaHeaderGetter(Getter[KafkaHeaders]):
    """Reads aiokafka's header list, ``[(name, bytes), ...]``."""

    def get(self, carrier: KafkaHeaders, key: str) -> list[str] | None:
        values = [v.decode("latin-1") for k, v in carrier if k == key and v]
        return values or None

    def keys(self, carrier: KafkaHeaders) -> list[str]:
        return [k for k, _ in carrier]


class _KafkaHeaderSetter(Setter[MutableSequence[tuple[str, bytes]]]):
    def set(
        self, carrier: MutableSequence[tuple[str, bytes]], key: str, value: str
    ) -> None:
        carrier.append((key, value.encode("latin-1")))


KAFKA_HEADERS = _KafkaHeaderGetter()
_KAFKA_SETTER = _KafkaHeaderSetter()


def kafka_context(headers: KafkaHeaders | None) -> Context | None:
    """The trace context a producer put into a record's headers, if any."""
    if not headers:
        return None
    return W3C.extract(headers, getter=KAFKA_HEADERS)


def kafka_trace_headers(span: Span) -> list[tuple[str, bytes]]:
    """Record headers that carry ``span`` as the parent of what follows."""
    headers: list[tuple[str, bytes]] = []
    W3C.inject(headers, trace.set_span_in_context(span), _KAFKA_SETTER)
    return headers


def traceparent(span: Span) -> str | None:
    """The ``traceparent`` value for ``span``; ``None`` when it is not traced."""
    carrier: dict[str, str] = {}
    W3C.inject(carrier, trace.set_span_in_context(span))
    return carrier.get("traceparent")


class Tracing:
    """A tracer and the provider behind it; call :meth:`shutdown` once, at stop.

    ``shutdown`` exports what is queued (waiting at most the exporter's
    timeout) and may block, so async callers run it in a thread.
    """

    def __init__(self, provider: TracerProvider | None) -> None:
        self._provider = provider
        self.tracer: Tracer = (
            trace.NoOpTracer() if provider is None else provider.get_tracer("omniout")
        )

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
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        logger.info("Tracing is off (OTEL_SDK_DISABLED)")
        return Tracing(None)
    exporter = _exporter(environ)
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: default_service}))
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        # The SDK bounds the queue (OTEL_BSP_MAX_QUEUE_SIZE, 2048 by default)
        # and drops spans beyond it rather than slowing the events down.
        provider.add_span_processor(BatchSpanProcessor(_GuardedExporter(exporter)))
    return Tracing(provider)


def _exporter(environ: Mapping[str, str]) -> SpanExporter | None:
    kind = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if kind == "none":
        logger.info("Traces are not exported (OTEL_TRACES_EXPORTER=none)")
        return None
    if kind != "otlp":
        raise ConfigError("environment", "OTEL_TRACES_EXPORTER", "must be otlp or none")
    protocols = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    for variable in protocols:
        protocol = environ.get(variable)
        if protocol is not None and protocol.strip() != _SUPPORTED_PROTOCOL:
            raise ConfigError(
                "environment", variable, f"only {_SUPPORTED_PROTOCOL} is supported"
            )
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint:
        logger.info("Traces are not exported: no OTEL_EXPORTER_OTLP_ENDPOINT")
        return None
    # Imported here: the exporter pulls in requests and protobuf, which a
    # process that exports nothing need not load.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )

    logger.info("Exporting traces over OTLP/HTTP")
    return OTLPSpanExporter()


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
