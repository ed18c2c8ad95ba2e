"""One record through its routes: decode, match, map, deliver, record.

:meth:`Pipeline.process` returns only when the record is done for every route
of its topic: delivered, filtered out by a condition, suppressed as already
delivered, or written to a dead-letter topic. Writes that must not be skipped
(the ledger, the dead-letter topic, a route's reply topic) are retried until
they succeed; if the service stops first, :class:`Abandoned` is raised and
the offset stays uncommitted, so the record is consumed again later.

Each step runs in a span under the record's current span (the consumer's
``process`` span): ``decode``, ``map``, the HTTP attempts, ``ledger write``
and, for a dead letter, its ``publish`` span, whose trace context the dead
letter carries. Counters and histograms go to :class:`Metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from aiokafka.structs import ConsumerRecord
from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes.messaging_attributes import (
    MESSAGING_MESSAGE_ID,
)
from opentelemetry.trace import NoOpTracer, Tracer

from omniout.deadletter import DeadLetter, DeadLetterWriter
from omniout.decode import DecodedEvent, Decoder, KnownSchema
from omniout.deliver import AttemptInfo, Deliverer, DeliveryResult
from omniout.errors import (
    DeadLetterError,
    DecodeError,
    DeliveryError,
    EventError,
    InternalError,
    LedgerError,
    MappingError,
    OmniOutError,
    RegistryUnavailableError,
    ReplyError,
)
from omniout.ledger import Ledger, LedgerEntry, LedgerLookup, LedgerWriter
from omniout.mapping.cdc import FieldTables, change_bindings, is_gap, refuse_gap
from omniout.replies import ReplyWriter, reply_for
from omniout.routing import Route
from omniout.telemetry.metrics import Metrics
from omniout.telemetry.propagation import kafka_trace_headers, propagator_of
from omniout.telemetry.spans import EVENT_UUID, ROUTE, failed, producing

__all__ = ["Abandoned", "Outcome", "Pipeline"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_STRICTNESS = {"none": 0, "key": 1, "partition": 2}

# One record's decodes, by the reader schema's fingerprint (None: the writer's).
_Decodes = dict[bytes | None, "asyncio.Future[DecodedEvent]"]


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    FILTERED = "filtered"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead-lettered"


class Abandoned(OmniOutError):
    """The service stopped before the record was done; do not commit it."""


class PartitionPauser(Protocol):
    """Stops and restarts fetching of one partition (the consumer does this)."""

    def pause(self, record: ConsumerRecord) -> None: ...
    def resume(self, record: ConsumerRecord) -> None: ...


class Pipeline:
    """Processes records; shared by every task of one consumer."""

    def __init__(
        self,
        routes: list[Route],
        readers: dict[str, KnownSchema],
        decoder: Decoder,
        deliverer: Deliverer,
        ledger: Ledger,
        ledger_writer: LedgerWriter,
        dead_letters: DeadLetterWriter,
        *,
        stopping: asyncio.Event,
        redeliver: bool = False,
        persist_backoff: float = 0.5,
        tracer: Tracer | None = None,
        metrics: Metrics | None = None,
        replies: ReplyWriter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._routes: dict[str, list[Route]] = {}
        for route in routes:
            self._routes.setdefault(route.topic, []).append(route)
        # A record is one unit of work for all its routes, so it is ordered
        # by the strictest of them: partition, then key, then none.
        self.ordering = {
            topic: max((r.ordering for r in group), key=_STRICTNESS.__getitem__)
            for topic, group in self._routes.items()
        }
        self._readers = readers
        self._decoder = decoder
        self._deliverer = deliverer
        self._lookup = LedgerLookup(ledger)
        self._writer = ledger_writer
        self._dead_letters = dead_letters
        self._stopping = stopping
        self._redeliver = redeliver
        self._persist_backoff = persist_backoff
        self._replies = replies
        self._clock = clock
        self._tables = FieldTables()
        self.pauser: PartitionPauser | None = None
        self._tracer = tracer or NoOpTracer()
        self.metrics = metrics or Metrics()

    def routes(self, topic: str) -> list[Route]:
        return self._routes.get(topic, [])

    async def process(self, record: ConsumerRecord) -> list[Outcome]:
        """Run one record through every route of its topic."""
        routes = self.routes(record.topic)
        # Bindings are shared by the record's routes: the CDC field lists
        # are expanded once per record, not once per route.
        shared: dict[str, Any] = {"nowMillis": int(self._clock() * 1000)}
        if len(routes) == 1:
            # The common case needs no task of its own.
            return [await self._run(routes[0], record, shared, None)]
        # Routes that read the record with the same schema decode it once.
        decodes: _Decodes = {}
        return list(
            await asyncio.gather(
                *(self._run(route, record, shared, decodes) for route in routes)
            )
        )

    async def _run(
        self,
        route: Route,
        record: ConsumerRecord,
        bindings: dict[str, Any],
        decodes: _Decodes | None,
    ) -> Outcome:
        request_id = ""
        try:
            with self._tracer.start_as_current_span(
                "decode", attributes={ROUTE: route.name}
            ):
                decoded = await self._decode_once(route, record, decodes)
            event = decoded.record
            if not route.takes_gap_events and is_gap(event):
                # Before the condition: a gap means lost changes, which a
                # route filtering on changeType must not silently skip.
                with contextlib.suppress(MappingError):
                    request_id = route.request_id(event)
                refuse_gap(event)
            if route.uses_changes and "changed" not in bindings:
                bindings.update(self._changes(decoded))
            if not route.matches(event, bindings):
                logger.debug("Filtered by condition", extra=_context(route, record))
                self.metrics.filtered.labels(route.name).inc()
                return Outcome.FILTERED
            request_id = route.request_id(event)
            _describe_event(event, request_id)
            return await self._deliver(route, record, event, request_id, bindings)
        except EventError as exc:
            return await self._give_up(route, record, request_id, exc)
        except OmniOutError:
            raise  # Abandoned: the record is not done and is not committed
        except Exception as exc:
            # A fault of omniout itself, not of the event. The event is kept
            # in the dead-letter topic, to be re-driven once the fault is
            # fixed, rather than stalling its partition's commits.
            logger.exception(
                "Unexpected failure", extra=_context(route, record, request_id)
            )
            # The type only: an exception's text may quote a URL or a header.
            error = InternalError(f"unexpected {type(exc).__name__} in omniout")
            return await self._give_up(route, record, request_id, error)

    async def _give_up(
        self,
        route: Route,
        record: ConsumerRecord,
        request_id: str,
        error: EventError,
    ) -> Outcome:
        """Dead-letter the event (and reply, when its request id is known)."""
        failed(trace.get_current_span(), error, error.reason)
        letter = DeadLetter(
            record=record, error=error, route=route.name, request_id=request_id
        )
        await self._dead_letter(route, letter)
        if request_id:
            await self._reply(route, record, request_id, error)
        return Outcome.DEAD_LETTERED

    async def _decode_once(
        self, route: Route, record: ConsumerRecord, decodes: _Decodes | None
    ) -> DecodedEvent:
        """The record decoded for ``route``, shared with routes of its schema."""
        if decodes is None:
            return await self._decode(route, record)
        reader = self._readers.get(route.name)
        key = None if reader is None else reader.fingerprint
        pending = decodes.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._decode(route, record))
            decodes[key] = pending
        return await pending

    async def _decode(self, route: Route, record: ConsumerRecord) -> DecodedEvent:
        if record.value is None:
            raise DecodeError("record has no value (a tombstone)")
        reader = self._readers.get(route.name)
        return await self._persist(
            lambda: self._decoder.decode(record.value, reader), "schema registry"
        )

    def _changes(self, decoded: DecodedEvent) -> dict[str, Any]:
        """``changed``/``nulled``/``diffed``, counted in the writer's schema."""
        writer = decoded.writer
        if writer is None:
            return {"changed": [], "nulled": [], "diffed": []}
        table = self._tables.get(writer.fingerprint, writer.plain)
        return change_bindings(decoded.record, table)

    async def _deliver(
        self,
        route: Route,
        record: ConsumerRecord,
        event: dict[str, Any],
        request_id: str,
        bindings: dict[str, Any],
    ) -> Outcome:
        if not self._redeliver and await self._already_delivered(route, request_id):
            logger.info(
                "Suppressed duplicate", extra=_context(route, record, request_id)
            )
            self.metrics.duplicates.labels(route.name).inc()
            return Outcome.DUPLICATE
        with self._tracer.start_as_current_span("map", attributes={ROUTE: route.name}):
            request = route.request(event, request_id, bindings)
        began = time.perf_counter()
        try:
            result = await self._deliver_with_policy(route, record, request)
        except DeliveryError as exc:
            self._observe(route, exc.attempts, began)
            failed(trace.get_current_span(), exc, exc.reason)
            letter = DeadLetter(
                record=record,
                error=exc,
                route=route.name,
                request_id=request_id,
                attempts=exc.attempts,
                first_attempt_at=exc.first_attempt_at,
                last_attempt_at=exc.last_attempt_at,
            )
            await self._dead_letter(route, letter)
            await self._record(route, record, request_id, "dead-lettered", exc)
            await self._reply(route, record, request_id, exc)
            return Outcome.DEAD_LETTERED
        self._observe(route, result.attempts, began)
        self.metrics.delivered.labels(route.name).inc()
        await self._record(route, record, request_id, "delivered", result)
        await self._reply(route, record, request_id, result)
        logger.info(
            "Delivered with HTTP %d after %d attempt(s)",
            result.response.status,
            result.attempts,
            extra=_context(route, record, request_id),
        )
        return Outcome.DELIVERED

    async def _deliver_with_policy(
        self, route: Route, record: ConsumerRecord, request: Any
    ) -> DeliveryResult:
        """Deliver; a route that pauses instead of dead-lettering keeps trying."""
        paused = False
        retried = self.metrics.retried.labels(route.name)

        def count_retry(info: AttemptInfo) -> None:
            if info.sleep is not None:
                retried.inc()

        try:
            while True:
                try:
                    return await self._deliverer.deliver(
                        request, route.policy, on_attempt=count_retry
                    )
                except DeliveryError as exc:
                    if not (exc.retriable and route.pause_when_exhausted):
                        raise
                    if self._stopping.is_set():
                        raise Abandoned(exc.reason) from exc
                    if not paused and self.pauser is not None:
                        self.pauser.pause(record)
                        paused = True
                    logger.warning(
                        "Endpoint still failing, partition paused: %s",
                        exc.reason,
                        extra=_context(route, record),
                    )
        finally:
            if paused and self.pauser is not None:
                self.pauser.resume(record)

    async def _already_delivered(self, route: Route, request_id: str) -> bool:
        return await self._persist(
            lambda: self._lookup.is_delivered(route.name, request_id), "ledger"
        )

    async def _record(
        self,
        route: Route,
        record: ConsumerRecord,
        request_id: str,
        outcome: str,
        result: DeliveryResult | DeliveryError,
    ) -> None:
        status = (
            result.response.status
            if isinstance(result, DeliveryResult)
            else result.status
        )
        now = time.time()
        entry = LedgerEntry(
            route=route.name,
            request_id=request_id,
            outcome="delivered" if outcome == "delivered" else "dead-lettered",
            http_status=status,
            attempts=result.attempts,
            first_attempt_at=result.first_attempt_at or now,
            last_attempt_at=result.last_attempt_at or now,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        with self._tracer.start_as_current_span(
            "ledger write", attributes={ROUTE: route.name}
        ):
            await self._persist(lambda: self._writer.record(entry), "ledger")

    async def _reply(
        self,
        route: Route,
        record: ConsumerRecord,
        request_id: str,
        result: DeliveryResult | EventError,
    ) -> None:
        topic, replies = route.reply_topic, self._replies
        if topic is None or replies is None:
            return
        reply = reply_for(
            route.name,
            request_id,
            record,
            result,
            now=self._clock(),
            reader=route.payload.reply_reader,
        )
        with producing(self._tracer, topic, request_id) as span:
            span.set_attribute(ROUTE, route.name)
            context = span.get_span_context()
            if context.is_valid:
                reply = replace(reply, trace_id=f"{context.trace_id:032x}")
            carried = kafka_trace_headers(span, propagator_of(self._tracer))
            await self._persist(
                lambda: replies.write(topic, reply, trace_headers=carried),
                "reply topic",
            )

    async def _dead_letter(self, route: Route, letter: DeadLetter) -> None:
        topic = route.dead_letter_topic
        with producing(self._tracer, topic, letter.request_id) as span:
            span.set_attribute(ROUTE, route.name)
            # The dead letter is a failure of the event: its span says so,
            # and its trace headers lead from the dead letter to this trace.
            failed(span, letter.error, letter.error.reason)
            carried = kafka_trace_headers(span, propagator_of(self._tracer))
            letter = replace(letter, trace_headers=tuple(carried))
            await self._persist(
                lambda: self._dead_letters.write(topic, letter), "dead-letter topic"
            )
        self.metrics.dead_lettered.labels(route.name, letter.error.kind).inc()

    def _observe(self, route: Route, attempts: int, began: float) -> None:
        endpoint = route.url.origin
        seconds = time.perf_counter() - began
        self.metrics.delivery_seconds.labels(route.name, endpoint).observe(seconds)
        self.metrics.attempts.labels(route.name, endpoint).observe(attempts)

    async def _persist(self, write: Callable[[], Awaitable[T]], what: str) -> T:
        """Retry a write that may not be skipped, until it succeeds or we stop."""
        delay = self._persist_backoff
        while True:
            try:
                return await write()
            except (
                LedgerError,
                DeadLetterError,
                RegistryUnavailableError,
                ReplyError,
            ) as exc:
                failure: OmniOutError = exc
            if self._stopping.is_set():
                raise Abandoned(f"{what} unavailable while stopping") from failure
            logger.warning("The %s failed, retrying in %.1fs: %s", what, delay, failure)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


def _describe_event(event: dict[str, Any], request_id: str) -> None:
    """Name the event on the record's span, for searches by id."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.set_attribute(MESSAGING_MESSAGE_ID, request_id)
    uuid = event.get("EventUuid")
    if uuid:
        span.set_attribute(EVENT_UUID, str(uuid))


def _context(
    route: Route, record: ConsumerRecord, request_id: str = ""
) -> dict[str, Any]:
    return {
        "route": route.name,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "request_id": request_id,
    }
