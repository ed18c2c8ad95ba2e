"""Trace context in and out of carriers: Kafka record headers, HTTP requests.

Which formats carry the context is chosen by ``OTEL_PROPAGATORS`` (a comma
separated list, ``tracecontext,baggage`` when unset): ``tracecontext`` (W3C
``traceparent`` and ``tracestate``), ``baggage`` (W3C ``baggage``), ``b3``
(the single ``b3`` header), ``b3multi`` (``X-B3-TraceId``, ``X-B3-SpanId``,
``X-B3-Sampled``) and ``none``. Every format listed is written on the way
out and tried on the way in.

The propagator belongs to one service, like its tracer provider, and is not
installed as OpenTelemetry's global one: :func:`bind` ties it to the
service's tracer, and whatever holds that tracer asks :func:`propagator_of`
for it, so the consumer, the HTTP attempts, dead letters, replies and
``omniout publish`` all read and write the same headers. A tracer that no
service set up (a test's, the no-op default) gets the default formats.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator, Mapping, MutableSequence, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import Getter, Setter, TextMapPropagator
from opentelemetry.trace import Span, Tracer
from opentelemetry.trace.propagation.tracecontext import (
    TraceContextTextMapPropagator,
)

from omniout.errors import ConfigError

__all__ = [
    "DEFAULT_PROPAGATORS",
    "KAFKA_HEADERS",
    "TRACE_CONTEXT_HEADERS",
    "bind",
    "continued",
    "http_trace_headers",
    "kafka_context",
    "kafka_trace_headers",
    "propagator_from_env",
    "propagator_of",
]

DEFAULT_PROPAGATORS = "tracecontext,baggage"

_FORMATS: dict[str, type[TextMapPropagator]] = {
    "tracecontext": TraceContextTextMapPropagator,
    "baggage": W3CBaggagePropagator,
    "b3": B3SingleFormat,
    "b3multi": B3MultiFormat,
}

# The headers that name a span, in every format above. A dead letter drops
# the original record's ones, so that it leads to its own span whatever
# format the record's producer used.
TRACE_CONTEXT_HEADERS = frozenset(
    {
        "traceparent",
        "tracestate",
        "b3",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-parentspanid",
        "x-b3-sampled",
        "x-b3-flags",
    }
)

KafkaHeaders = Sequence[tuple[str, bytes]]


def propagator_from_env(
    environ: Mapping[str, str], variable: str = "OTEL_PROPAGATORS"
) -> TextMapPropagator:
    """The propagator ``OTEL_PROPAGATORS`` names; ConfigError for an unknown one.

    Names are trimmed and compared in lower case; repeats count once; an empty
    value means the default. ``none`` alone sends and reads no context.
    """
    value = environ.get(variable, "").strip() or DEFAULT_PROPAGATORS
    names = list(dict.fromkeys(n.strip().lower() for n in value.split(",")))
    known = ", ".join([*_FORMATS, "none"])
    formats: list[TextMapPropagator] = []
    for name in names:
        if name == "none":
            continue
        kind = _FORMATS.get(name)
        if kind is None:
            raise ConfigError(
                "environment", variable, f"unknown propagator {name!r} (known: {known})"
            )
        formats.append(kind())
    if "none" in names and formats:
        raise ConfigError("environment", variable, "none cannot be combined")
    return CompositePropagator(formats)


_DEFAULT = propagator_from_env({})
_BOUND: weakref.WeakKeyDictionary[Tracer, TextMapPropagator] = (
    weakref.WeakKeyDictionary()
)


def bind(tracer: Tracer, propagator: TextMapPropagator) -> None:
    """Make ``propagator`` the one used wherever ``tracer`` makes spans."""
    _BOUND[tracer] = propagator


def propagator_of(tracer: Tracer) -> TextMapPropagator:
    """The propagator bound to ``tracer``, else the default formats."""
    return _BOUND.get(tracer, _DEFAULT)


class _KafkaHeaderGetter(Getter[KafkaHeaders]):
    """Reads aiokafka's header list, ``[(name, bytes), ...]``.

    Kafka header names are case-sensitive, HTTP's are not, and producers
    that follow HTTP habits send ``X-B3-TraceId``: names are matched
    without regard to case, as the propagators ask in lower case.
    """

    def get(self, carrier: KafkaHeaders, key: str) -> list[str] | None:
        values = [
            v.decode("latin-1") for k, v in carrier if v and k.lower() == key
        ]
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


def kafka_context(
    headers: KafkaHeaders | None, propagator: TextMapPropagator
) -> Context | None:
    """The context a producer put into a record's headers; None without headers."""
    if not headers:
        return None
    return propagator.extract(headers, getter=KAFKA_HEADERS)


def kafka_trace_headers(
    span: Span, propagator: TextMapPropagator
) -> list[tuple[str, bytes]]:
    """Record headers that carry ``span`` as the parent of what follows.

    Baggage in the current context goes along when the propagator has it.
    """
    headers: list[tuple[str, bytes]] = []
    propagator.inject(headers, trace.set_span_in_context(span), _KAFKA_SETTER)
    return headers


def http_trace_headers(propagator: TextMapPropagator) -> dict[str, str]:
    """Request headers that carry the current span (and baggage), if any."""
    carrier: dict[str, str] = {}
    propagator.inject(carrier)
    return carrier


@contextlib.contextmanager
def continued(parent: Context | None) -> Iterator[None]:
    """Make ``parent`` (an extracted context) current for the block.

    A span started with ``context=parent`` would take its parent span from
    it but not its baggage; attaching it makes both reach whatever the block
    sends on.
    """
    if parent is None:
        yield
        return
    token = otel_context.attach(parent)
    try:
        yield
    finally:
        otel_context.detach(token)
