"""A receiver that joins traces, and reading traces back from Jaeger.

:class:`TracedReceiver` is what an instrumented endpoint does: it takes the
trace context of each request (``traceparent`` unless told another format)
and records a SERVER span under it, exported
by its own tracer provider under its own service name. :func:`find_trace`
asks Jaeger's query API for the traces of a service that hold a tag.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from aiohttp import web
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import (
    TraceContextTextMapPropagator,
)

from tests.integration.conftest import JAEGER, OTLP
from tests.integration.receiver import Receiver

__all__ = ["Span", "Trace", "TracedReceiver", "find_trace"]


class TracedReceiver(Receiver):
    """A :class:`Receiver` that exports a SERVER span per request."""

    def __init__(
        self, service: str, propagator: TextMapPropagator | None = None
    ) -> None:
        super().__init__()
        self._propagator = propagator or TraceContextTextMapPropagator()
        self.provider = TracerProvider(resource=Resource({SERVICE_NAME: service}))
        self.provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=f"{OTLP}/v1/traces"),
                schedule_delay_millis=100,
            )
        )
        self._tracer = self.provider.get_tracer("test-receiver")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        parent = self._propagator.extract(request.headers)
        with self._tracer.start_as_current_span(
            f"{request.method} {request.path}", context=parent, kind=SpanKind.SERVER
        ) as span:
            answer = await super()._handle(request)
            span.set_attribute("http.response.status_code", answer.status)
            return answer

    async def __aexit__(self, *exc_info: object) -> None:
        await super().__aexit__(*exc_info)
        await asyncio.to_thread(self.provider.shutdown)


@dataclass(frozen=True, slots=True)
class Span:
    span_id: str
    parent_id: str | None
    name: str
    service: str
    tags: dict[str, Any]

    @property
    def error(self) -> bool:
        return self.tags.get("otel.status_code") == "ERROR"


@dataclass(frozen=True, slots=True)
class Trace:
    trace_id: str
    spans: list[Span]

    def named(self, name: str) -> list[Span]:
        return [span for span in self.spans if span.name == name]

    def one(self, name: str) -> Span:
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def names(self) -> list[str]:
        return sorted(span.name for span in self.spans)


def _trace(data: dict[str, Any]) -> Trace:
    services = {pid: p["serviceName"] for pid, p in data["processes"].items()}
    spans = []
    for raw in data["spans"]:
        parents = [r["spanID"] for r in raw["references"] if r["refType"] == "CHILD_OF"]
        spans.append(
            Span(
                span_id=raw["spanID"],
                parent_id=parents[0] if parents else None,
                name=raw["operationName"],
                service=services[raw["processID"]],
                tags={tag["key"]: tag["value"] for tag in raw["tags"]},
            )
        )
    return Trace(data["traceID"], spans)


async def find_trace(
    service: str,
    tags: dict[str, str],
    *,
    complete: Callable[[Trace], bool],
    within: float = 30,
) -> list[Trace]:
    """The traces of ``service`` with ``tags``, once ``complete`` holds for one.

    Spans reach Jaeger in batches, so this polls until then or ``within``.
    """
    params = {"service": service, "tags": orjson.dumps(tags).decode(), "limit": "20"}
    deadline = time.monotonic() + within
    traces: list[Trace] = []
    async with httpx.AsyncClient(base_url=JAEGER, timeout=5) as client:
        while time.monotonic() < deadline:
            answer = await client.get("/api/traces", params=params)
            if answer.status_code == 200:
                traces = [_trace(t) for t in answer.json()["data"] or []]
                if any(complete(t) for t in traces):
                    return traces
            await asyncio.sleep(0.25)
    names = [t.names() for t in traces]
    raise AssertionError(f"no complete trace in {within}s; found: {names}")
