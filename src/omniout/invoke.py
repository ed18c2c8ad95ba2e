"""The synchronous mode: one event through one route now, the answer back.

``omniout invoke`` and the admin port's ``POST /invoke/{route}`` both use
:class:`Invoker`. It runs the route's condition, request id and mapping, then
delivers with the route's retry policy until the endpoint answers for good or
the caller's timeout passes, and returns what happened instead of writing a
dead letter: the caller holds the event and decides. A delivered event is
recorded in the ledger like any delivery (with no Kafka position: partition
and offset -1), so the same event arriving later from Kafka is suppressed as
a duplicate. A failure is not recorded: nothing was dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from opentelemetry.context import Context
from opentelemetry.semconv._incubating.attributes.messaging_attributes import (
    MESSAGING_MESSAGE_ID,
)
from opentelemetry.trace import NoOpTracer, Span, Tracer

from omniout.deliver import Deliverer
from omniout.errors import DeliveryError
from omniout.ledger import LedgerEntry, LedgerWriter
from omniout.routing import Route
from omniout.telemetry.metrics import Metrics
from omniout.telemetry.propagation import continued, propagator_of
from omniout.telemetry.spans import ROUTE, failed

__all__ = ["Invocation", "InvokeOutcome", "Invoker"]

logger = logging.getLogger(__name__)

InvokeOutcome = Literal["delivered", "failed", "filtered", "timed-out"]


@dataclass(frozen=True, slots=True)
class Invocation:
    """What one synchronous delivery came to.

    ``status``, ``headers`` and ``body`` are the endpoint's last answer: in
    full when it was accepted, the status and a body excerpt when it was
    refused, nothing when no answer came. ``error`` says why it was not
    delivered; ``retriable`` whether trying later may help.
    """

    route: str
    request_id: str
    outcome: InvokeOutcome
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    attempts: int = 0
    error: str | None = None
    retriable: bool = False
    trace_id: str | None = None


class Invoker:
    """Delivers single events on request; shares the service's client."""

    def __init__(
        self,
        routes: list[Route],
        deliverer: Deliverer,
        ledger: LedgerWriter,
        *,
        tracer: Tracer | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._routes = {route.name: route for route in routes}
        self._deliverer = deliverer
        self._ledger = ledger
        self._tracer = tracer or NoOpTracer()
        self._metrics = metrics or Metrics()

    def route(self, name: str) -> Route | None:
        return self._routes.get(name)

    @property
    def route_names(self) -> list[str]:
        return sorted(self._routes)

    def trace_context(self, headers: Mapping[str, str]) -> Context:
        """The trace context of a request that asks for an invocation.

        Read in the service's formats (``OTEL_PROPAGATORS``); without one
        the invocation starts a trace of its own.
        """
        return propagator_of(self._tracer).extract(headers)

    async def invoke(
        self,
        route: Route,
        event: dict[str, Any],
        *,
        within: float,
        context: Context | None = None,
    ) -> Invocation:
        """Deliver ``event`` on ``route``, giving up after ``within`` seconds.

        Raises ``MappingError`` when the condition, request id or mapping
        fails on the event (nothing was sent) and ``LedgerError`` when the
        delivery succeeded but cannot be recorded.
        """
        with (
            continued(context),
            self._tracer.start_as_current_span(
                f"invoke {route.name}", attributes={ROUTE: route.name}
            ) as span,
        ):
            trace_id = _trace_id(span)
            if not route.matches(event):
                return Invocation(route.name, "", "filtered", trace_id=trace_id)
            request_id = route.request_id(event)
            span.set_attribute(MESSAGING_MESSAGE_ID, request_id)
            with self._tracer.start_as_current_span("map"):
                request = route.request(event, request_id)
            found = Invocation(route.name, request_id, "failed", trace_id=trace_id)
            return await self._deliver(route, request, found, within, span)

    async def _deliver(
        self,
        route: Route,
        request: Any,
        found: Invocation,
        within: float,
        span: Span,
    ) -> Invocation:
        endpoint = route.url.origin
        began = time.perf_counter()
        try:
            async with asyncio.timeout(within):
                result = await self._deliverer.deliver(request, route.policy)
        except TimeoutError as exc:
            reason = f"no outcome within {within:g}s"
            failed(span, exc, reason)
            return replace(found, outcome="timed-out", error=reason, retriable=True)
        except DeliveryError as exc:
            failed(span, exc, exc.reason)
            logger.warning(
                "Invoke failed: %s",
                exc.reason,
                extra={"route": route.name, "request_id": found.request_id},
            )
            return replace(
                found,
                status=exc.status,
                body=exc.excerpt.encode(),
                attempts=exc.attempts,
                error=exc.reason,
                retriable=exc.retriable,
            )
        self._metrics.delivery_seconds.labels(route.name, endpoint).observe(
            time.perf_counter() - began
        )
        self._metrics.attempts.labels(route.name, endpoint).observe(result.attempts)
        self._metrics.delivered.labels(route.name).inc()
        entry = LedgerEntry(
            route=route.name,
            request_id=found.request_id,
            outcome="delivered",
            http_status=result.response.status,
            attempts=result.attempts,
            first_attempt_at=result.first_attempt_at,
            last_attempt_at=result.last_attempt_at,
            topic=route.topic,
            partition=-1,
            offset=-1,
        )
        with self._tracer.start_as_current_span("ledger write"):
            await self._ledger.record(entry)
        logger.info(
            "Invoked: HTTP %d after %d attempt(s)",
            result.response.status,
            result.attempts,
            extra={"route": route.name, "request_id": found.request_id},
        )
        response = result.response
        return replace(
            found,
            outcome="delivered",
            status=response.status,
            headers=response.headers,
            body=response.body,
            attempts=result.attempts,
        )


def _trace_id(span: Span) -> str | None:
    context = span.get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
