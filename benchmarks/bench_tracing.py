"""What tracing costs per event: the consumer's path with and without spans.

Each event goes the way ``Consumer`` sends it: the ``process`` span (trace
context extracted from the record's headers), then ``Pipeline.process``:
Avro decode, condition, request id, JSONata mapping, the HTTP attempt and
the ledger write. Only the network and the database are left out, since
they would hide the cost under measured noise: the endpoint answers at once
from memory and the ledger is a dict. So the ratio is the worst case; a
real delivery adds milliseconds of I/O to the same overhead.

Three tracers are compared in the same run, in rotating rounds:

- baseline: OpenTelemetry's no-op tracer (no spans, no traceparent out), as
  with ``OTEL_SDK_DISABLED=true``;
- the SDK tracer without an exporter (spans made, trace ids in logs and
  ``traceparent`` out, nothing exported), as without an OTLP endpoint;
- the SDK tracer with the batch span processor, its spans encoded to OTLP
  protobuf as the exporter would (not sent); the encoding thread's CPU is
  counted, and each round ends after every span is encoded;
- the same with one event in ten sampled (``OTEL_TRACES_SAMPLER=traceidratio``,
  ``OTEL_TRACES_SAMPLER_ARG=0.1``), the others left unrecorded.

Reported: CPU microseconds per event (median round) and their ratio.

Run: .venv/bin/python benchmarks/bench_tracing.py [--events 3000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import NoOpTracer, Tracer

from omniout.config import RouteSettings
from omniout.deadletter import DeadLetterWriter
from omniout.decode import Decoder, Encoder, SchemaStore
from omniout.deliver import Deliverer, OutboundRequest, Response
from omniout.ledger import LedgerEntry, LedgerWriter
from omniout.pipeline import Pipeline
from omniout.routing import compile_routes
from omniout.telemetry.propagation import kafka_trace_headers, propagator_of
from omniout.telemetry.spans import consuming

SCHEMAS = Path(__file__).parents[1] / "schemas"
ORDER_SCHEMA = "com.sforce.eventbus.Order_Completed__e"
TOPIC = "orders"


class MemoryLedger:
    """The ledger protocol over a dict: no database in the measurement."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], LedgerEntry] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def delivered(self, route: str, request_ids: Collection[str]) -> set[str]:
        return {r for r in request_ids if (route, r) in self.entries}

    async def record(self, entries: Sequence[LedgerEntry]) -> None:
        for entry in entries:
            self.entries[entry.route, entry.request_id] = entry

    async def forget(self, route: str, request_ids: Collection[str]) -> int:
        return 0

    async def prune(self, older_than: float) -> int:
        return 0

    async def ping(self) -> None:
        return None


class InstantEndpoint(Deliverer):
    """Answers every attempt from memory; spans and headers stay real."""

    async def send(self, request: OutboundRequest) -> Response:
        return Response(200, (("content-type", "application/json"),), b"{}", 0.0)


class UnusedProducer:
    async def send_and_wait(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("nothing is dead-lettered in this benchmark")


class EncodingExporter(SpanExporter):
    """Encodes spans to OTLP protobuf, as the OTLP exporter does, and stops."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


def records(count: int, tracer: Tracer) -> list[ConsumerRecord]:
    """Order events as a producer traced with ``tracer`` would send them."""
    schema = SchemaStore.load(SCHEMAS).by_name(ORDER_SCHEMA)
    assert schema is not None
    encoder = Encoder()
    made = []
    for offset in range(count):
        event = {
            "CreatedDate": 1_764_000_000_000 + offset,
            "CreatedById": "005000000000001AAA",
            "EventUuid": str(uuid.uuid4()),
            "Order_Number__c": f"{offset:08d}",
            "Total_Amount__c": float(offset),
            "Currency_Iso_Code__c": "EUR",
        }
        with tracer.start_as_current_span(f"publish {TOPIC}") as span:
            headers = kafka_trace_headers(span, propagator_of(tracer))
        value = encoder.encode_single_object(event, schema)
        made.append(
            ConsumerRecord(
                TOPIC, 0, offset, 0, 0, None, value, None, -1, len(value), headers
            )
        )
    return made


def pipeline(tracer: Tracer, deliverer: Deliverer, ledger: MemoryLedger) -> Pipeline:
    route = RouteSettings.model_validate(
        {
            "name": "orders",
            "topic": TOPIC,
            "schema": ORDER_SCHEMA,
            "mapping": {
                "orderNumber": "Order_Number__c",
                "total": "Total_Amount__c",
                "currency": "Currency_Iso_Code__c",
            },
            "endpoint": {"url": "http://127.0.0.1:9/orders"},
        }
    )
    routes = compile_routes([route])
    store = SchemaStore.load(SCHEMAS)
    reader = store.by_name(ORDER_SCHEMA)
    assert reader is not None
    return Pipeline(
        routes,
        {"orders": reader},
        Decoder(store),
        deliverer,
        ledger,
        LedgerWriter(ledger, max_delay=0),
        DeadLetterWriter(UnusedProducer()),
        stopping=asyncio.Event(),
        tracer=tracer,
    )


def exporting(
    provider: TracerProvider, exporter: SpanExporter, events: int
) -> tuple[TracerProvider, BatchSpanProcessor]:
    # A queue that holds a whole round: no span is dropped, all are encoded.
    processor = BatchSpanProcessor(
        exporter, max_queue_size=events * 8, max_export_batch_size=512
    )
    provider.add_span_processor(processor)
    return provider, processor


async def one_round(tracer: Tracer, batch: list[ConsumerRecord]) -> float:
    """CPU seconds for ``batch`` through the consumer's path."""
    ledger = MemoryLedger()
    async with InstantEndpoint(tracer=tracer) as deliverer:
        work = pipeline(tracer, deliverer, ledger)
        began = time.process_time()
        for record in batch:
            with consuming(tracer, record, "bench"):
                await work.process(record)
        spent = time.process_time() - began
    assert len(ledger.entries) == len(batch)
    return spent


async def bench(args: argparse.Namespace) -> None:
    publisher = TracerProvider().get_tracer("publisher")
    batch = records(args.events, publisher)
    exporter = EncodingExporter()
    provider, processor = exporting(TracerProvider(), exporter, args.events)
    sampled, sampled_processor = exporting(
        TracerProvider(sampler=TraceIdRatioBased(0.1)),
        EncodingExporter(),
        args.events,
    )
    variants: dict[str, Tracer] = {
        "no-op tracer (baseline)": NoOpTracer(),
        "SDK tracer, not exported": TracerProvider().get_tracer("omniout"),
        "SDK tracer, batch export": provider.get_tracer("omniout"),
        "same, 10% sampled": sampled.get_tracer("omniout"),
    }
    rounds: dict[str, list[float]] = {name: [] for name in variants}
    await one_round(NoOpTracer(), batch[:200])  # warm-up: imports, caches
    for number in range(args.rounds):
        names = list(variants)
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            began = time.process_time()
            await one_round(variants[name], batch)
            # The export of this round's spans counts.
            processor.force_flush()
            sampled_processor.force_flush()
            rounds[name].append(time.process_time() - began)
    spans_per_event = exporter.spans / (args.events * args.rounds)
    provider.shutdown()
    sampled.shutdown()
    report(rounds, args, spans_per_event)


def report(
    rounds: dict[str, list[float]], args: argparse.Namespace, spans: float
) -> None:
    print(
        f"{args.events} events per round, {args.rounds} rounds, median shown; "
        f"{spans:.1f} spans per traced event"
    )
    baseline = 0.0
    for name, seconds in rounds.items():
        per_event = statistics.median(seconds) / args.events * 1e6
        baseline = baseline or per_event
        every = ", ".join(f"{s / args.events * 1e6:.0f}" for s in seconds)
        print(
            f"  {name:26} {per_event:7.1f} µs CPU/event  "
            f"x{per_event / baseline:4.2f}  (rounds: {every})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
